-- int_disclosure_status.sql: conf_status of every cell under disclosure control (docs/indicators.md): the primary
-- codes of int_disclosure_primary, then secondary suppression (`D`) of ENT_RD_EXPENDITURE and ENT_RD_PERSONNEL,
-- each per year, in the additive groups street (district total + streets) and industry (district total +
-- industries), visited street group then industry group, round after round, until a round changes nothing (the
-- rounds are unrolled; tests/assert_disclosure_fixed_point.sql proves one more would change nothing). Then
-- ENT_RD_INTENSITY: its own primary code, and `D` where the expenditure of the same key is withheld.
{%- set district_code = var('district_code', '430406') %}
{#- a round that changes something withholds one more of the at most 12 cells of an indicator and year (the total,
    6 streets and towns, 5 industries), so 12 rounds always reach the fixed point -#}
{%- set rounds = 12 %}

with cell_values as (
    select * from {{ ref('int_indicator_values__enterprise_rd') }}
    where indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL', 'ENT_RD_INTENSITY')
),

primary_codes as (select * from {{ ref('int_disclosure_primary') }}),

rules as (select * from {{ ref('disclosure_rules') }}),

cells as (
    select
        cell_values.indicator_code,
        cell_values.period,
        cell_values.region_code,
        cell_values.dimension,
        cell_values.member,
        cell_values.value,
        coalesce(primary_codes.primary_status, 'A') as primary_status
    from cell_values
    left join primary_codes
        on
            cell_values.indicator_code = primary_codes.indicator_code
            and cell_values.period = primary_codes.period
            and cell_values.region_code = primary_codes.region_code
            and cell_values.dimension = primary_codes.dimension
            and cell_values.member = primary_codes.member
),

-- the additive cells, with their groups: the district total is in both
round_0 as (
    select
        cells.indicator_code,
        cells.period,
        cells.region_code,
        cells.dimension,
        cells.member,
        cells.value,
        cells.primary_status as conf_status,
        cells.dimension = 'total' as in_street_group,
        cells.region_code = '{{ district_code }}' as in_industry_group,
        rules.protection_percent
    from cells
    cross join rules
    where cells.indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL')
),

{% for round in range(1, rounds + 1) %}
    {%- set before = 'round_0' if round == 1 else 'round_' ~ (round - 1) ~ '_industry_4' %}
    {{ disclosure_visit('round_' ~ round ~ '_street', before, 'in_street_group') }},
    {{ disclosure_visit('round_' ~ round ~ '_industry', 'round_' ~ round ~ '_street_4', 'in_industry_group') }},
{% endfor %}

additive as (select * from round_{{ rounds }}_industry_4),

intensity as (
    select
        cells.indicator_code,
        cells.period,
        cells.region_code,
        cells.dimension,
        cells.member,
        cells.value,
        case
            when cells.primary_status = 'F' and expenditure.conf_status <> 'F' then 'D'
            else cells.primary_status
        end as conf_status
    from cells
    left join additive as expenditure
        on
            expenditure.indicator_code = 'ENT_RD_EXPENDITURE'
            and cells.period = expenditure.period
            and cells.region_code = expenditure.region_code
            and cells.dimension = expenditure.dimension
            and cells.member = expenditure.member
    where cells.indicator_code = 'ENT_RD_INTENSITY'
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
    from additive

    union all

    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(period as {{ dbt.type_string() }}) as period,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(member as {{ dbt.type_string() }}) as member,
        value,
        cast(conf_status as {{ dbt.type_string() }}) as conf_status
    from intensity
)

select * from final
