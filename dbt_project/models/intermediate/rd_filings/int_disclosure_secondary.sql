-- int_disclosure_secondary.sql: secondary suppression (`D`, docs/indicators.md) of ENT_RD_EXPENDITURE and
-- ENT_RD_PERSONNEL, rounds 1 to 6: from the primary codes of int_disclosure_primary, per indicator and year, the
-- street group (district total + streets) is visited, then the industry group (district total + industries), round
-- after round. int_disclosure_status continues with rounds 7 to 12 (two models: Spark plans each in seconds, one
-- plan of 24 unrolled visits took minutes). Few cases need more than two rounds.
{%- if target.type == 'spark' %}
    {#- Spark resolves a plan in at most spark.sql.analyzer.maxIterations passes (100): 12 unrolled visits need
        more; SET works on the local session and on a Thrift server -#}
    {{ config(pre_hook='set spark.sql.analyzer.maxIterations = 1000') }}
{%- endif %}

with cell_values as (
    select * from {{ ref('int_indicator_values__enterprise_rd') }}
    where indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL')
),

primary_codes as (select * from {{ ref('int_disclosure_primary') }}),

rules as (select * from {{ ref('disclosure_rules') }}),

-- every additive cell with its primary code (a published cell always has contributors)
cells as (
    select
        cell_values.indicator_code,
        cell_values.period,
        cell_values.region_code,
        cell_values.dimension,
        cell_values.member,
        cell_values.value,
        coalesce(primary_codes.primary_status, 'A') as conf_status
    from cell_values
    left join primary_codes
        on
            cell_values.indicator_code = primary_codes.indicator_code
            and cell_values.period = primary_codes.period
            and cell_values.region_code = primary_codes.region_code
            and cell_values.dimension = primary_codes.dimension
            and cell_values.member = primary_codes.member
),

round_0 as (
    {{ disclosure_state('cells', 'rules') }}
),

{{ disclosure_rounds('round_0', 1, 6) }}

settled as (
    {{ disclosure_apply('round_6_industry_2') }}
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
    from settled
)

select * from final
