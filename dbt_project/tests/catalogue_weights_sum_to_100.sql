-- Each industry's indicator weights sum to 100 in every rule version (rows returned fail the test).
select rule_version, industry_code, sum(weight) as total_weight
from {{ ref('indicator_catalogue') }}
group by rule_version, industry_code
having sum(weight) <> 100
