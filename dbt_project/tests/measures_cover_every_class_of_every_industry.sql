{#
  Every measures list (seed supervision_measures, per list version) gives every grade class of
  every industry at least one measure: a subject of any grade must know what its grade brings.
  Returns the (version, industry, class) left without measures.
#}
with versions as (select distinct measure_list_version from {{ ref('measure_list_versions') }}),
classes as (select distinct grade_class from {{ ref('grade_levels') }}),
expected as (
    select v.measure_list_version, i.industry_code, c.grade_class
    from versions v cross join {{ ref('industries') }} i cross join classes c
)
select e.measure_list_version, e.industry_code, e.grade_class
from expected e
where not exists (
    select 1 from {{ ref('supervision_measures') }} m
    where m.measure_list_version = e.measure_list_version
      and m.industry_code = e.industry_code
      and m.grade_class = e.grade_class
)
