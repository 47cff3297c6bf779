-- indicator_revisions.sql: how far first estimates move (the ONS revision measures, issue 25). One row per annual
-- statistics key delivered with a value more than once: its first and its latest delivered value, with their
-- 数据状态 (快报 → 初步核实 → 最终核实) and delivery times, and the revision between them.
with vintages as (
    select * from {{ ref('indicator_vintages') }}
    where period_type = 'year' and value is not null
),

ranked as (
    select
        indicator_code,
        region_code,
        period,
        unit,
        value,
        status,
        delivered_at,
        row_number() over (
            partition by indicator_code, region_code, period order by delivery_rank
        ) as rank_from_first,
        row_number() over (
            partition by indicator_code, region_code, period order by delivery_rank desc
        ) as rank_from_latest
    from vintages
),

keyed as (
    select
        indicator_code,
        region_code,
        period,
        max(unit) as unit,
        count(*) as deliveries,
        max(case when rank_from_first = 1 then value end) as first_value,
        max(case when rank_from_first = 1 then status end) as first_status,
        max(case when rank_from_first = 1 then delivered_at end) as first_delivered_at,
        max(case when rank_from_latest = 1 then value end) as latest_value,
        max(case when rank_from_latest = 1 then status end) as latest_status,
        max(case when rank_from_latest = 1 then delivered_at end) as latest_delivered_at
    from ranked
    group by indicator_code, region_code, period
),

final as (
    select
        indicator_code,
        region_code,
        period,
        unit,
        deliveries,
        first_value,
        first_status,
        first_delivered_at,
        latest_value,
        latest_status,
        latest_delivered_at,
        latest_value - first_value as revision,
        case when first_value <> 0 then (latest_value - first_value) / abs(first_value) end as revision_ratio,
        latest_value <> first_value as is_revised
    from keyed
    where deliveries > 1
)

select * from final
