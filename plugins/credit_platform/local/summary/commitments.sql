-- Credit commitments (信用承诺): per department, the commitment letters written
-- (ops.commitment_letters), those signed and returned (a commitment of the letter's type, dated on
-- or after the letter, in marts.fct_commitments) and how many of those consented to publication;
-- all its commitments as they stand, those consented, and those the platforms hold now
-- (ops.publication_state, dataset commitments).
WITH letters AS (
    SELECT l.department_code,
           count(*) AS letters,
           count(*) FILTER (WHERE s.uscc IS NOT NULL) AS signed,
           count(*) FILTER (WHERE s.consent) AS signed_consenting
      FROM ops.commitment_letters AS l
      LEFT JOIN LATERAL (
           SELECT c.uscc, bool_or(c.consent_to_publish) AS consent
             FROM marts.fct_commitments AS c
            WHERE c.department_code = l.department_code AND c.uscc = l.uscc
              AND c.commitment_type = l.commitment_type AND c.commitment_date >= l.written_on
            GROUP BY c.uscc) AS s ON true
     GROUP BY l.department_code
),
commitments AS (
    SELECT department_code, count(*) AS commitments, count(*) FILTER (WHERE consent_to_publish) AS consented
      FROM marts.fct_commitments
     GROUP BY department_code
),
held AS (
    SELECT split_part(item_key, '|', 2) AS department_code, count(DISTINCT item_key) AS on_platforms
      FROM ops.publication_state
     WHERE dataset = 'commitments'
     GROUP BY 1
)
SELECT d.department_code, coalesce(l.letters, 0), coalesce(l.signed, 0), coalesce(l.signed_consenting, 0),
       coalesce(c.commitments, 0), coalesce(c.consented, 0), coalesce(h.on_platforms, 0)
  FROM (SELECT department_code FROM letters UNION SELECT department_code FROM commitments
        UNION SELECT department_code FROM held) AS d
  LEFT JOIN letters AS l USING (department_code)
  LEFT JOIN commitments AS c USING (department_code)
  LEFT JOIN held AS h USING (department_code)
 ORDER BY 1
