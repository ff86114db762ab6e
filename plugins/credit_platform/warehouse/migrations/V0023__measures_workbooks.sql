-- Departments also receive the supervision measures their subjects' grades bring (分级分类监管措施,
-- marts.fct_subject_measures) as a workbook, recorded in ops.publications as dataset 'measures'.
COMMENT ON COLUMN ops.publications.dataset IS '数据集: grades 信用评价结果 / penalties 行政处罚 / licences 行政许可 / commendations 表彰奖励 / inspections 双随机抽查计划与结果; for a department: grades, measures 分级分类监管措施, inspection_list 抽查任务清单, inspection_form 抽查结果反馈表';
