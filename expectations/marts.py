"""Marts stage: the industry credit grades are sane before anything is published.

``build(gx)`` returns (schema, table, suite) for each table the marts checkpoint validates.
"""

GRADES = ["A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D"]
USCC = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
PERIOD = r"^[0-9]{4}(-H[12]|-Q[1-4])?$"


def build(gx):
    gxe = gx.expectations
    grades = gx.ExpectationSuite(name="marts_fct_industry_credit_grades")
    for column in ["uscc", "industry_code", "evaluation_period", "period_end_date", "score", "grade",
                   "grade_class", "is_vetoed", "has_sufficient_data", "rule_version"]:  # fmt: skip
        grades.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    grades.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    grades.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=100))
    grades.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="grade", value_set=GRADES))
    grades.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="grade_class", value_set=["A", "B", "C", "D"]))
    grades.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="uscc", regex=USCC))
    grades.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="evaluation_period", regex=PERIOD))
    grades.add_expectation(
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["uscc", "industry_code", "evaluation_period"])
    )
    return [("marts", "fct_industry_credit_grades", grades)]
