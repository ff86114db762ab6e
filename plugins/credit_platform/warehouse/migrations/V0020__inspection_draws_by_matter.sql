-- Double-random draws per department, inspection matter and round (algorithm credit-draw-2): the
-- plan records the round, the matter, the day of the draw, the policy applied and what was left
-- out; the population drawn from is kept subject by subject, so a past draw can be recomputed
-- whatever the warehouse says today; each task says whether chance or an override put it there.
ALTER TABLE ops.inspection_plans
    ADD COLUMN draw_round     text,
    ADD COLUMN matter_code    text,
    ADD COLUMN industry_code  text,
    ADD COLUMN drawn_on       date,
    ADD COLUMN policy         jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN exclusions     jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN disclosure     text CHECK (disclosure IN ('public', 'authorised', 'internal'));
COMMENT ON COLUMN ops.inspection_plans.draw_round IS '抽查批次: one draw of the city''s departments; a subject drawn by several departments in a round is inspected once, jointly';
COMMENT ON COLUMN ops.inspection_plans.matter_code IS '抽查事项编码 (抽查事项清单)';
COMMENT ON COLUMN ops.inspection_plans.drawn_on IS '抽取日期: the year of this day counts the frequency caps';
COMMENT ON COLUMN ops.inspection_plans.policy IS '抽查比例、频次上限、最少数 per class, and the overrides in force (inspection_ratios, inspection_settings)';
COMMENT ON COLUMN ops.inspection_plans.exclusions IS '排除: deregistered subjects and, per class, subjects at their yearly cap';
COMMENT ON COLUMN ops.inspection_plans.disclosure IS '计划公开级别 of the department (inspection_settings)';
COMMENT ON COLUMN ops.inspection_plans.sample_sizes IS '应抽数量 per class: ceil(ratio x class population), at least the minimum, at most the population';

CREATE TABLE ops.inspection_population (
    plan_id     text NOT NULL REFERENCES ops.inspection_plans (plan_id) ON DELETE CASCADE,
    grade_class text NOT NULL CHECK (grade_class IN ('A', 'B', 'C', 'D')),
    uscc        text NOT NULL,
    PRIMARY KEY (plan_id, uscc)
);
COMMENT ON TABLE ops.inspection_population IS '抽查对象库: the subjects each plan drew from, by class (SHA-256 per class in the plan)';

ALTER TABLE ops.inspection_tasks
    ADD COLUMN selection     text NOT NULL DEFAULT 'random' CHECK (selection IN ('random', 'override')),
    ADD COLUMN override_reason text;
COMMENT ON COLUMN ops.inspection_tasks.selection IS 'random 随机抽取 / override 必检 (listed as seriously dishonest, or an open complaint)';
COMMENT ON COLUMN ops.inspection_tasks.override_reason IS '必检原因: serious_dishonesty 严重失信主体名单 / open_complaint 投诉举报办理中';

GRANT SELECT, INSERT, DELETE ON ops.inspection_population TO credit_publisher;
GRANT SELECT ON ops.inspection_population TO credit_transformer, credit_analyst;

COMMENT ON COLUMN ops.publications.dataset IS '数据集: grades 信用评价结果 / penalties 行政处罚 / licences 行政许可 / commendations 表彰奖励 / inspections 双随机抽查计划与结果; for a department: grades, inspection_list 抽查任务清单, inspection_form 抽查结果反馈表';
COMMENT ON TABLE ops.inspection_plans IS '双随机抽查计划: one row per round, department and inspection matter (credit-draw-2; per department and period for credit-draw-1); the seed is SHA-256 of plan id and announced value';
