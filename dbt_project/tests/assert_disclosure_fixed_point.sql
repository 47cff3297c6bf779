-- assert_disclosure_fixed_point.sql: secondary suppression reached its fixed point (docs/indicators.md): one more
-- round over int_disclosure_status (street group, then industry group) withholds nothing more. Returns the cells
-- a further round would change; none may be.
{%- set district_code = var('district_code', '430406') %}

with settled as (
    select
        status.indicator_code,
        status.period,
        status.region_code,
        status.dimension,
        status.member,
        status.value,
        status.conf_status,
        status.dimension = 'total' as in_street_group,
        status.region_code = '{{ district_code }}' as in_industry_group,
        rules.protection_percent
    from {{ ref('int_disclosure_status') }} as status
    cross join {{ ref('disclosure_rules') }} as rules
    where status.indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL')
),

{{ disclosure_visit('again_street', 'settled', 'in_street_group') }},
{{ disclosure_visit('again_industry', 'again_street_4', 'in_industry_group') }}

select
    again_industry_4.indicator_code,
    again_industry_4.period,
    again_industry_4.region_code,
    again_industry_4.dimension,
    again_industry_4.member,
    settled.conf_status as settled_status,
    again_industry_4.conf_status as status_after_one_more_round
from again_industry_4
inner join settled
    on
        again_industry_4.indicator_code = settled.indicator_code
        and again_industry_4.period = settled.period
        and again_industry_4.region_code = settled.region_code
        and again_industry_4.dimension = settled.dimension
        and again_industry_4.member = settled.member
where again_industry_4.conf_status <> settled.conf_status
