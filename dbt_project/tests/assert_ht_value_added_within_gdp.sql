-- High-tech value added is part of GDP: a current annual value above GDP for the same region and year is
-- a delivery error (wrong unit or a typo), and must not be published.
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
