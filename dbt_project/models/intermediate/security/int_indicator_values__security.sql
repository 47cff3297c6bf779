-- int_indicator_values__security.sql: the SEC_* indicators in the shape of marts.indicator_values.
-- Month grain. Regions: each street (its 12-digit code) and the district total 430406; SEC_INCIDENTS also has
-- the `category` breakdown at district level. A ratio with a zero or missing denominator gives no row.
with incidents as (select * from {{ ref('int_security_incidents_current') }}),

population as (
    -- current annual POPULATION (persons) of each region; a zero or missing population gives no per-10k row
    select
        region_code,
        period as population_year,
        cast(value as double) as population
    from {{ ref('int_statistics_values_current') }}
    where indicator_code = 'POPULATION' and period_type = 'year' and value > 0
),

incident_regions as (
    -- each incident once under its street and once in the district total
    select
        received_month as period,
        street_code as region_code,
        response_min
    from incidents
    union all
    select
        received_month as period,
        '430406' as region_code,
        response_min
    from incidents
),

incident_stats as (
    select
        period,
        region_code,
        count(*) as incident_count,
        sum(case when response_min is not null then 1 else 0 end) as arrived_count,
        sum(case when response_min <= 15.0 then 1 else 0 end) as arrived_within_15min_count
    from incident_regions
    group by period, region_code
),

category_stats as (
    select
        received_month as period,
        category,
        count(*) as incident_count
    from incidents
    group by received_month, category
),

responses_ranked as (
    -- portable median: order the responses, keep the middle one (odd count) or the middle two (even count)
    select
        period,
        region_code,
        cast(response_min as double) as response_min,
        row_number() over (partition by period, region_code order by response_min asc) as response_rank,
        count(*) over (partition by period, region_code) as response_count
    from incident_regions
    where response_min is not null
),

response_medians as (
    select
        period,
        region_code,
        avg(response_min) as median_response_min
    from responses_ranked
    where response_rank * 2 between response_count and response_count + 2
    group by period, region_code
),

camera_stats as (
    -- incremental by month (int_security_camera_months): a distinct count over every camera-day, once per month
    select * from {{ ref('int_security_camera_months') }}
),

indicator_values as (
    select
        'SEC_INCIDENTS' as indicator_code,
        region_code,
        period,
        'total' as dimension,
        'total' as member,
        cast(incident_count as double) as metric_value,
        'count' as unit
    from incident_stats
    union all
    select
        'SEC_INCIDENTS' as indicator_code,
        '430406' as region_code,
        period,
        'category' as dimension,
        category as member,
        cast(incident_count as double) as metric_value,
        'count' as unit
    from category_stats
    union all
    select
        'SEC_INCIDENTS_PER_10K' as indicator_code,
        incident_stats.region_code,
        incident_stats.period,
        'total' as dimension,
        'total' as member,
        cast(incident_stats.incident_count as double) / nullif(population.population / 10000.0, 0) as metric_value,
        'per_10k' as unit
    from incident_stats
    inner join population
        on
            incident_stats.region_code = population.region_code
            and substring(incident_stats.period, 1, 4) = population.population_year
    union all
    select
        'SEC_MEDIAN_RESPONSE_MIN' as indicator_code,
        region_code,
        period,
        'total' as dimension,
        'total' as member,
        median_response_min as metric_value,
        'minutes' as unit
    from response_medians
    union all
    select
        'SEC_RESPONSE_15MIN_RATE' as indicator_code,
        region_code,
        period,
        'total' as dimension,
        'total' as member,
        cast(arrived_within_15min_count as double) / nullif(arrived_count, 0) as metric_value,
        'ratio' as unit
    from incident_stats
    where arrived_count > 0
    union all
    select
        'SEC_CAMERAS' as indicator_code,
        region_code,
        period,
        'total' as dimension,
        'total' as member,
        cast(camera_count as double) as metric_value,
        'count' as unit
    from camera_stats
    union all
    select
        'SEC_CAMERA_ONLINE_RATE' as indicator_code,
        region_code,
        period,
        'total' as dimension,
        'total' as member,
        cast(online_camera_day_count as double) / nullif(camera_day_count, 0) as metric_value,
        'ratio' as unit
    from camera_stats
    where camera_day_count > 0
),

final as (
    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(period as {{ dbt.type_string() }}) as period,
        cast('month' as {{ dbt.type_string() }}) as period_type,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(member as {{ dbt.type_string() }}) as member,
        cast(metric_value as double) as value,  -- noqa: RF04
        cast(unit as {{ dbt.type_string() }}) as unit
    from indicator_values
)

select * from final
