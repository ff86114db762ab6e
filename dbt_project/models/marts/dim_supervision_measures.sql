-- The measures lists (seed supervision_measures) with the dates each list version is in force
-- (seed measure_list_versions): one row per list version, department, industry, grade class and
-- measure. What a grade class brings, whoever holds it: the commitment letters state it.
select
    m.measure_list_version::text as measure_list_version,
    v.effective_from::date as effective_from,
    v.effective_to::date as effective_to,
    m.department_code::text as department_code,
    m.industry_code::text as industry_code,
    m.grade_class::text as grade_class,
    m.measure_code::text as measure_code,
    m.measure_name::text as measure_name,
    m.measure_kind::text as measure_kind,
    m.applied_by::text as applied_by,
    m.legal_basis::text as legal_basis,
    m.valid_months::integer as valid_months,
    m.must_record::boolean as must_record
from {{ ref('supervision_measures') }} as m
inner join {{ ref('measure_list_versions') }} as v on v.measure_list_version = m.measure_list_version
