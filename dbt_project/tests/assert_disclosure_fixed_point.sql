-- assert_disclosure_fixed_point.sql: secondary suppression reached its fixed point (docs/indicators.md): one more
-- round over int_disclosure_status (street group, then industry group) withholds nothing more. Returns the cells
-- a further round would change; none may be.

with settled as (
    {{ disclosure_state(ref('int_disclosure_status'), ref('disclosure_rules')) }}
),

{{ disclosure_visit('again_street', 'settled', 'in_street_group') }},
{{ disclosure_visit('again_industry', 'again_street_2', 'in_industry_group') }},

again as (
    {{ disclosure_apply('again_industry_2') }}
)

select
    again.indicator_code,
    again.period,
    again.region_code,
    again.dimension,
    again.member,
    settled.conf_status as settled_status,
    again.conf_status as status_after_one_more_round
from again
inner join settled
    on
        again.indicator_code = settled.indicator_code
        and again.period = settled.period
        and again.region_code = settled.region_code
        and again.dimension = settled.dimension
        and again.member = settled.member
where again.conf_status <> settled.conf_status
