-- A closed period keeps its rules: the fingerprint of the rules in force when it was closed (or
-- re-graded) is recorded, and the dbt test closed_period_rules_unchanged fails the grading when
-- those rules are edited in place afterwards (a change belongs in a new rule version).
ALTER TABLE ops.period_closures ADD COLUMN rule_fingerprint text;
COMMENT ON COLUMN ops.period_closures.rule_fingerprint IS '规则指纹: md5 of the grading rules of the rule version (intermediate.int_rule_fingerprints) when recorded';
