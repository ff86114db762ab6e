-- Each industry's indicator system has at least four dimensions in every rule version.
select rule_version, industry_code, count(distinct dimension_code) as dimensions
from {{ ref('indicator_catalogue') }}
group by rule_version, industry_code
having count(distinct dimension_code) < 4
