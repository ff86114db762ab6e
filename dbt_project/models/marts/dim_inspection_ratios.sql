select grade_class, sampling_ratio, min_count from {{ ref('inspection_ratios') }}
