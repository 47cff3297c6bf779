-- High-tech value added is part of GDP: a current annual value above GDP for the same region and year is
-- a delivery error (wrong unit or a typo), and must not be published.
-- Only a warning here: whether delivered data is plausible is for the Great Expectations suites to judge, and
-- their blocking expectation `ht_value_added_within_gdp` (expectations/marts/indicator_values.py) stops the
-- publish and records the failure in marts.data_quality. An error here would stop dbt before the suites run.
{{ config(severity='warn') }}

select
    ht.region_code,
    ht.period,
    ht.value as ht_value_added_yuan,
    gdp.value as gdp_yuan
from {{ ref('int_statistics_values_current') }} as ht
inner join {{ ref('int_statistics_values_current') }} as gdp
    on
        ht.region_code = gdp.region_code
        and ht.period = gdp.period
where
    ht.indicator_code = 'HT_VALUE_ADDED'
    and gdp.indicator_code = 'GDP'
    and ht.value > gdp.value
