"""Marts stage: the industry credit grades are sane before anything is published.

``build(gx)`` returns (schema, table, suite) for each table the marts checkpoint validates. Column
checks are built-in expectations; the rules that span tables are ``UnexpectedRowsExpectation``
queries over the marts (the checkpoint runs as ``credit_publisher``, which reads ``marts``): each
returns the rows that break the rule, and its description names the rule in the task log. Every
query has a JOIN and aliases ``{batch}`` itself: Great Expectations then inserts the batch as a bare
subquery, and PostgreSQL before 16 requires a subquery in FROM to have an alias.
"""

from credit_platform.grade_levels import CLASSES, GRADES  # seed grade_levels

# A failing row is named by these in the results (the task log, Data Docs).
INDEX_COLUMNS = ["uscc", "industry_code", "evaluation_period"]

USCC = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
PERIOD = r"^[0-9]{4}(-H[12]|-Q[1-4])?$"

# Each rule: (description, query returning the rows that break it).
RULES = [
    (
        "等级与得分及分档一致 / a computed grade follows its score and the cut points in force (a veto or the"
        " thin-data cap may only lower it); every grade is a level of its rule version",
        """
        SELECT g.uscc, g.industry_code, g.evaluation_period, g.score, g.grade, g.grade_basis, s.grade AS score_grade
        FROM {batch} AS g
        LEFT JOIN marts.dim_grade_levels AS s
            ON s.rule_version = g.rule_version AND g.score <= s.upper_bound
            AND (g.score > s.lower_bound OR (s.is_lower_inclusive AND g.score >= s.lower_bound))
        LEFT JOIN marts.dim_grade_levels AS f ON f.rule_version = g.rule_version AND f.grade = g.grade
        WHERE s.grade IS NULL OR f.grade IS NULL
            OR (g.grade_basis = 'computed' AND NOT g.is_vetoed AND g.has_sufficient_data AND f.grade <> s.grade)
            OR (g.grade_basis = 'computed' AND f.level_rank < s.level_rank)
        """,
    ),
    (
        "严重失信主体不高于 D / nobody on the serious-dishonesty list in the period is above D,"
        " whatever the adjustment",
        """
        SELECT g.uscc, g.industry_code, g.evaluation_period, g.grade, g.grade_basis, g.veto_rule_code
        FROM {batch} AS g
        LEFT JOIN (SELECT DISTINCT uscc, industry_code, evaluation_period FROM marts.fct_grade_explanations
                   WHERE rule_code = 'SERIOUS_DISHONESTY') AS e
            USING (uscc, industry_code, evaluation_period)
        WHERE g.grade <> 'D'
            AND (g.veto_rule_code = 'SERIOUS_DISHONESTY' OR g.grade_basis = 'serious_dishonesty' OR e.uscc IS NOT NULL)
        """,
    ),
    (
        "说明分值之和等于得分 / the points of a grade's explanation lines sum to its score",
        """
        SELECT g.uscc, g.industry_code, g.evaluation_period, g.score, e.total
        FROM {batch} AS g
        LEFT JOIN (SELECT uscc, industry_code, evaluation_period, sum(points) AS total
                   FROM marts.fct_grade_explanations GROUP BY 1, 2, 3) AS e
            USING (uscc, industry_code, evaluation_period)
        WHERE e.total IS DISTINCT FROM g.score
        """,
    ),
    (
        "监管范围内主体均已评价 / every registered subject in a supervision scope of its industry's department,"
        " not deregistered, has a grade in the latest period",
        """
        WITH g AS (SELECT * FROM {batch} AS b),
        latest AS (SELECT evaluation_period FROM g ORDER BY period_end_date DESC, evaluation_period DESC LIMIT 1)
        SELECT s.department_code, s.industry_code, s.uscc
        FROM marts.fct_supervision_scopes AS s
        JOIN marts.dim_industries AS i ON i.industry_code = s.industry_code AND i.department_code = s.department_code
        JOIN marts.dim_subjects AS d ON d.uscc = s.uscc AND NOT d.is_deregistered
        WHERE NOT EXISTS (SELECT 1 FROM g WHERE g.uscc = s.uscc AND g.industry_code = s.industry_code
                          AND g.evaluation_period = (SELECT evaluation_period FROM latest))
        """,
    ),
]


def build(gx):
    """The marts checkpoint's validations: the grades table, whole."""
    gxe = gx.expectations
    grades = gx.ExpectationSuite(name="marts_fct_industry_credit_grades")
    for column in ["uscc", "industry_code", "evaluation_period", "period_end_date", "score", "grade",
                   "grade_class", "is_vetoed", "has_sufficient_data", "rule_version", "grade_basis"]:  # fmt: skip
        grades.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    grades.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    grades.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=100))
    grades.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="grade", value_set=list(GRADES)))
    grades.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="grade_class", value_set=list(CLASSES)))
    grades.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="uscc", regex=USCC))
    grades.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="evaluation_period", regex=PERIOD))
    grades.add_expectation(
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["uscc", "industry_code", "evaluation_period"])
    )
    for description, query in RULES:
        grades.add_expectation(gxe.UnexpectedRowsExpectation(unexpected_rows_query=query, description=description))
    return [{"name": "marts.fct_industry_credit_grades", "table": "marts.fct_industry_credit_grades", "suite": grades}]
