-- rpt_release_revisions.sql: what each release revised. One row per release and statistics key whose history row
-- starts at that release (valid_from) and replaced an earlier row (valid_to of the earlier row = that release),
-- with the old and the new value, their display text (a withheld value shows its Chinese reason, never 0) and the
-- change. Keys added or removed by a release are counted in rpt_releases, not listed here.
-- A key withheld now (conf_status of marts.indicator_values) shows no value of any release, only its reason: the
-- dashboards never show a number for a cell that disclosure control withholds today, even one an older release had.
with history as (select * from {{ source('publish', 'indicator_value_history') }}),

releases as (select * from {{ source('publish', 'releases') }}),

indicators as (select * from {{ ref('indicators') }}),

current_values as (select * from {{ ref('indicator_values') }}),

regions as (select * from {{ ref('dim_region') }}),

member_labels as (
    {{ labels_of('incident_category') }}
),

conf_status_names as (
    {{ labels_of('conf_status') }}
),

revised as (
    select
        new_row.valid_from as release_id,
        new_row.indicator_code,
        new_row.region_code,
        new_row.period,
        new_row.period_type,
        new_row.dimension,
        new_row.member,
        new_row.unit,
        case when coalesce(current_values.conf_status, 'F') = 'F' then old_row.value end as old_value,
        case when coalesce(current_values.conf_status, 'F') = 'F' then new_row.value end as new_value,
        coalesce(current_values.conf_status, 'F') != 'F' as is_withheld_now,
        current_values.conf_status as current_conf_status,
        old_row.conf_status as old_conf_status,
        new_row.conf_status as new_conf_status,
        old_row.unit as old_unit
    from history as new_row
    inner join history as old_row
        on
            new_row.indicator_code = old_row.indicator_code
            and new_row.region_code = old_row.region_code
            and new_row.period = old_row.period
            and new_row.dimension = old_row.dimension
            and new_row.member is not distinct from old_row.member
            and new_row.valid_from = old_row.valid_to
    left join current_values
        on
            new_row.indicator_code = current_values.indicator_code
            and new_row.region_code = current_values.region_code
            and new_row.period = current_values.period
            and new_row.dimension = current_values.dimension
            and new_row.member is not distinct from current_values.member
),

final as (
    select
        revised.release_id,
        '第' || revised.release_id || '次发布' as release_name,
        releases.published_at,
        revised.indicator_code,
        indicators.name_zh as indicator_name,
        revised.region_code,
        regions.name_zh as region_name,
        regions.level as region_level,
        revised.period,
        revised.period_type,
        revised.dimension,
        revised.member,
        case
            when revised.dimension = 'total' then '合计'
            else coalesce(member_labels.name_zh, revised.member)
        end as member_name,
        revised.unit,
        revised.old_value,
        revised.new_value,
        case
            when revised.is_withheld_now then current_names.name_zh
            else coalesce({{ display_text('revised.old_value', 'revised.old_unit') }}, old_names.name_zh)
        end as old_value_text,
        case
            when revised.is_withheld_now then current_names.name_zh
            else coalesce({{ display_text('revised.new_value', 'revised.unit') }}, new_names.name_zh)
        end as new_value_text,
        revised.new_value - revised.old_value as change_value,
        -- a ratio's revision in percentage points; an amount or count signed, in its display unit
        case
            when revised.new_value - revised.old_value is null then '—'
            when revised.unit != revised.old_unit then '—'
            when revised.unit = 'ratio'
                then format('{:+.2f} 个百分点', (revised.new_value - revised.old_value) * 100)
            else
                case when revised.new_value > revised.old_value then '+' else '' end
                || {{ display_text('(revised.new_value - revised.old_value)', 'revised.unit') }}
        end as change_text,
        revised.old_conf_status,
        revised.new_conf_status,
        old_names.name_zh as old_conf_status_name,
        new_names.name_zh as new_conf_status_name
    from revised
    inner join releases on revised.release_id = releases.release_id
    left join indicators on revised.indicator_code = indicators.code
    left join regions on revised.region_code = regions.region_code
    left join member_labels on revised.dimension = 'category' and revised.member = member_labels.code
    left join conf_status_names as old_names on revised.old_conf_status = old_names.code
    left join conf_status_names as new_names on revised.new_conf_status = new_names.code
    left join conf_status_names as current_names on revised.current_conf_status = current_names.code
)

select * from final
