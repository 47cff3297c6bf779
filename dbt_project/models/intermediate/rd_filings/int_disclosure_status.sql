-- int_disclosure_status.sql: conf_status of every cell under disclosure control (docs/indicators.md).
-- ENT_RD_EXPENDITURE and ENT_RD_PERSONNEL: int_disclosure_secondary (primary codes, then rounds 1 to 6 of secondary
-- suppression), continued here with rounds 7 to 12. A round that changes something withholds one more of the at
-- most 12 cells of an indicator and year (the total, 6 streets and towns, 5 industries), so 12 rounds always reach
-- the fixed point; tests/assert_disclosure_fixed_point.sql proves that one more round would change nothing.
-- ENT_RD_INTENSITY: its own primary code, and `D` where the expenditure of the same key is withheld.
{%- if target.type == 'spark' %}
    {#- as in int_disclosure_secondary: 12 unrolled visits need more than Spark's 100 analyser passes -#}
    {{ config(pre_hook='set spark.sql.analyzer.maxIterations = 1000') }}
{%- endif %}

with secondary as (select * from {{ ref('int_disclosure_secondary') }}),

intensity_values as (
    select * from {{ ref('int_indicator_values__enterprise_rd') }}
    where indicator_code = 'ENT_RD_INTENSITY'
),

primary_codes as (select * from {{ ref('int_disclosure_primary') }}),

rules as (select * from {{ ref('disclosure_rules') }}),

round_6 as (
    {{ disclosure_state('secondary', 'rules') }}
),

{{ disclosure_rounds('round_6', 7, 12) }}

additive as (
    {{ disclosure_apply('round_12_industry_2') }}
),

intensity as (
    select
        intensity_values.indicator_code,
        intensity_values.period,
        intensity_values.region_code,
        intensity_values.dimension,
        intensity_values.member,
        intensity_values.value,
        case
            when coalesce(primary_codes.primary_status, 'A') = 'F' and expenditure.conf_status <> 'F' then 'D'
            else coalesce(primary_codes.primary_status, 'A')
        end as conf_status
    from intensity_values
    left join primary_codes
        on
            intensity_values.indicator_code = primary_codes.indicator_code
            and intensity_values.period = primary_codes.period
            and intensity_values.region_code = primary_codes.region_code
            and intensity_values.dimension = primary_codes.dimension
            and intensity_values.member = primary_codes.member
    left join additive as expenditure
        on
            expenditure.indicator_code = 'ENT_RD_EXPENDITURE'
            and intensity_values.period = expenditure.period
            and intensity_values.region_code = expenditure.region_code
            and intensity_values.dimension = expenditure.dimension
            and intensity_values.member = expenditure.member
),

stacked as (
    select * from additive
    union all
    select * from intensity
),

final as (
    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(period as {{ dbt.type_string() }}) as period,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(member as {{ dbt.type_string() }}) as member,
        value,
        cast(conf_status as {{ dbt.type_string() }}) as conf_status
    from stacked
)

select * from final
