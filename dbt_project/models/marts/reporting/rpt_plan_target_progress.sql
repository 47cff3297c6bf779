-- rpt_plan_target_progress.sql: the plan's targets against their actuals, one row per target and plan year, with
-- a short Chinese name, the region, values in display units (亿元, %, 家) and the table's text (92 家, 3.00%,
-- 245.10 亿元; — without an actual). Achievement = actual / target (at-least targets).
with progress as (select * from {{ ref('plan_target_progress') }}),

regions as (select * from {{ ref('dim_region') }}),

labels as (select * from {{ ref('reporting_labels') }}),

final as (
    select
        progress.target_code,
        coalesce(target_names.name_zh, progress.name_zh) as target_name,
        progress.name_zh as target_wording,
        progress.indicator_code,
        progress.measure_code,
        progress.region_code,
        regions.name_zh as region_name,
        regions.level as region_level,
        progress.period,
        progress.period as year,  -- noqa: RF04
        progress.target_period,
        progress.is_target_year,
        progress.comparison,
        progress.unit,
        progress.target_value,
        progress.actual_value,
        {{ display_value('progress.target_value', 'progress.unit') }} as target_display_value,
        {{ display_value('progress.actual_value', 'progress.unit') }} as actual_display_value,
        coalesce(display_units.name_zh, progress.unit) as display_unit,
        {{ display_text('progress.target_value', 'progress.unit') }} as target_text,
        coalesce({{ display_text('progress.actual_value', 'progress.unit') }}, '—') as actual_text,
        progress.achievement_ratio,
        progress.gap_closed_ratio,
        case
            when progress.is_achieved then '已达成'
            when progress.is_achieved = false then '未达成'
            else '暂无实际值'
        end as status
    from progress
    inner join regions on progress.region_code = regions.region_code
    left join labels as target_names
        on target_names.label_set = 'plan_target' and progress.target_code = target_names.code
    left join labels as display_units
        on display_units.label_set = 'display_unit' and progress.unit = display_units.code
)

select * from final
