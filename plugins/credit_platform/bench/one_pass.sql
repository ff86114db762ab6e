-- Grading's limit for the benchmark: every subject's score per industry and period in one query
-- that reads each staged record once, with no intermediate table, no explanation and no record
-- list. It follows the rules of the dbt models (int_subject_industries_scoped, int_penalties_classified,
-- int_indicator_records_by_period, int_indicator_points, fct_industry_credit_grades: the score
-- before any veto, cap or adjustment) for open periods only: no period closed, so every batch
-- arrived in time and an earlier version of a record (superseded_by_batch_id) never counts. The
-- benchmark checks that no period is closed, and that these scores equal the model's.
with periods as (
    select p.evaluation_period, p.period_end_date, p.evaluation_cycle, r.rule_version
    from staging.evaluation_periods as p
    inner join staging.rule_versions as r
        on p.period_end_date >= r.effective_from and (r.effective_to is null or p.period_end_date <= r.effective_to)
),

registered as (
    select distinct on (uscc) uscc, is_deregistered
    from staging.stg_registry__subjects
    where superseded_by_batch_id is null
    order by uscc, batch_id desc, row_number desc
),

scoped as (
    select distinct s.uscc, s.industry_code, p.evaluation_period, p.period_end_date, p.rule_version
    from staging.stg_departments__supervision_scopes as s
    inner join staging.industries as i on i.industry_code = s.industry_code and i.department_code = s.department_code
    inner join periods as p on p.evaluation_cycle = i.evaluation_cycle
    inner join registered as g on g.uscc = s.uscc and not g.is_deregistered
    where s.superseded_by_batch_id is null
),

repairs as (
    select distinct on (uscc, record_reference) uscc, record_reference, repair_date
    from staging.stg_departments__credit_repairs
    where record_type = 'penalty' and superseded_by_batch_id is null
    order by uscc, record_reference, repair_date, batch_id, row_number
),

penalties as (
    select pe.uscc, pe.decision_date, sev.severity,
        ((pe.decision_date + make_interval(months => pr.max_publication_months))::date + 1) as counts_until,
        rep.repair_date
    from staging.stg_departments__penalties as pe
    cross join lateral (
        -- the most severe of its categories, each priced by the department's own row before the defaults
        select coalesce((array_agg(x.severity order by case x.severity when 'serious' then 1 when 'general' then 2
            else 3 end))[1], 'general') as severity
        from (
            select distinct on (btrim(part)) s.severity
            from unnest(regexp_split_to_array(pe.penalty_category, '\s*[;；,，]\s*')) as part
            inner join staging.penalty_severity as s
                on s.penalty_category = btrim(part)
                and s.department_code in (pe.department_code, '*')
                and (s.min_fine_10k_yuan is null or coalesce(pe.fine_amount_10k_yuan, 0) >= s.min_fine_10k_yuan)
                and (s.max_fine_10k_yuan is null or coalesce(pe.fine_amount_10k_yuan, 0) < s.max_fine_10k_yuan)
            order by btrim(part), s.department_code = '*'
        ) as x
    ) as sev
    left join staging.publication_rules as pr
        on pr.severity = sev.severity and pe.decision_date >= pr.effective_from
        and (pr.effective_to is null or pe.decision_date <= pr.effective_to)
    left join repairs as rep on rep.uscc = pe.uscc and rep.record_reference = pe.decision_number
    where pe.superseded_by_batch_id is null
),

records as (
    select uscc, 'penalties' as source, decision_date as record_date, severity as item_key, counts_until,
        repair_date
    from penalties
    union all
    select uscc, 'commendations', commendation_date, commendation_level, null::date, null::date
    from staging.stg_departments__commendations where superseded_by_batch_id is null
    union all
    select uscc, case fulfilment_status when 'kept' then 'commitments_kept' else 'commitments_broken' end,
        coalesce(status_date, commitment_date), null, null::date, null::date
    from staging.stg_departments__commitments
    where fulfilment_status in ('kept', 'broken') and superseded_by_batch_id is null
    union all
    select uscc, 'inspection_problems', inspection_date, result, null::date, null::date
    from staging.stg_departments__inspection_results
    where result in ('corrected', 'penalised', 'not_found_at_address') and superseded_by_batch_id is null
    union all
    select uscc, 'complaints', received_date, status, null::date, null::date
    from staging.stg_departments__complaints where status in ('open', 'closed') and superseded_by_batch_id is null
    union all
    select uscc, 'licences_valid', decision_date, null, valid_to_date + 1, null::date
    from staging.stg_departments__licences where licence_status = 'valid' and superseded_by_batch_id is null
),

items as (
    select s.uscc, s.industry_code, s.evaluation_period, c.indicator_code,
        sum(coalesce(sd.deduction_points, cp.points, c.points_per_item)) as item_points
    from records as r
    inner join periods as p
        on r.record_date <= p.period_end_date
        and (r.counts_until is null or p.period_end_date < r.counts_until)
        and (r.repair_date is null or p.period_end_date < r.repair_date)
    inner join scoped as s on s.uscc = r.uscc and s.evaluation_period = p.evaluation_period
    inner join staging.indicator_catalogue as c
        on c.rule_version = s.rule_version and c.industry_code = s.industry_code and c.indicator_code = r.source
        and c.scoring_rule in ('deduct_per_item', 'add_per_item')
        and r.record_date > s.period_end_date - make_interval(months => c.window_months)
    left join staging.severity_deductions as sd
        on c.indicator_code = 'penalties' and sd.rule_version = s.rule_version and sd.severity = r.item_key
    left join staging.commendation_points as cp
        on c.indicator_code = 'commendations' and cp.rule_version = s.rule_version
        and cp.commendation_level = r.item_key
    group by s.uscc, s.industry_code, s.evaluation_period, c.indicator_code
),

province as (
    select distinct on (p.evaluation_period, e.uscc) p.evaluation_period, e.uscc, e.province_grade as grade
    from staging.stg_province__evaluations as e
    inner join periods as p on e.evaluation_date <= p.period_end_date
    where e.superseded_by_batch_id is null
    order by p.evaluation_period, e.uscc, e.evaluation_date desc, e.batch_id desc, e.row_number desc
),

external_grades as (
    select distinct on (p.evaluation_period, g.uscc, g.grade_system)
        p.evaluation_period, g.uscc, g.grade_system, g.grade
    from staging.stg_departments__external_grades as g
    inner join periods as p on g.evaluation_date <= p.period_end_date
    where g.superseded_by_batch_id is null
    order by p.evaluation_period, g.uscc, g.grade_system, g.evaluation_date desc, g.batch_id desc, g.row_number desc
)

select
    s.uscc,
    s.industry_code,
    s.evaluation_period,
    least(100, greatest(0, sum(round(case c.scoring_rule
        when 'grade_share' then c.weight * coalesce(gs.share, c.no_data_share)
        when 'deduct_per_item' then greatest(0, c.weight - coalesce(it.item_points, 0))
        when 'add_per_item' then least(c.weight, coalesce(it.item_points, 0))
    end, 2)::numeric(5, 2))))::numeric(5, 2) as score
from scoped as s
inner join staging.indicator_catalogue as c on c.rule_version = s.rule_version and c.industry_code = s.industry_code
left join items as it
    on it.uscc = s.uscc and it.industry_code = s.industry_code and it.evaluation_period = s.evaluation_period
    and it.indicator_code = c.indicator_code
left join province as pe
    on c.scoring_rule = 'grade_share' and c.grade_system = 'province' and pe.uscc = s.uscc
    and pe.evaluation_period = s.evaluation_period
left join external_grades as eg
    on c.scoring_rule = 'grade_share' and c.grade_system <> 'province' and eg.uscc = s.uscc
    and eg.evaluation_period = s.evaluation_period and eg.grade_system = c.grade_system
left join staging.grade_shares as gs
    on gs.rule_version = s.rule_version and gs.grade_system = c.grade_system and gs.grade = coalesce(pe.grade, eg.grade)
group by s.uscc, s.industry_code, s.evaluation_period
