-- rpt_indicator_values.sql: every published indicator value with its Chinese indicator and region names, the
-- period as a date and year, the Chinese label of a breakdown member, and a ratio's change from the prior year in
-- percentage points. Values stay in base units (yuan, ratio 0–1, count): Superset's metrics convert them.
-- A withheld cell (conf_status A, O, D; value null) keeps its row: conf_status_name gives the Chinese reason, and
-- region_label and member_label carry it, so a chart shows the cell as withheld, never as 0 or an unexplained gap.
-- A value revised by the latest release (marts.indicator_value_history, written by the publish step) carries the
-- mark 已修订 and its previous value.
with indicator_values as (select * from {{ ref('indicator_values') }}),

indicators as (select * from {{ ref('indicators') }}),

regions as (select * from {{ ref('dim_region') }}),

history as (select * from {{ source('publish', 'indicator_value_history') }}),

latest_release as (select max(release_id) as release_id from {{ source('publish', 'releases') }}),

member_labels as (
    {{ labels_of('incident_category') }}
),

conf_status_names as (
    {{ labels_of('conf_status') }}
),

-- the keys the latest release revised: their current row starts there and an earlier row ended there
revised as (
    select
        current_row.indicator_code,
        current_row.region_code,
        current_row.period,
        current_row.period_type,
        current_row.dimension,
        current_row.member,
        current_row.valid_from as revised_in_release,
        previous_row.value as previous_value,
        previous_row.conf_status as previous_conf_status
    from history as current_row
    inner join latest_release on current_row.valid_from = latest_release.release_id
    inner join history as previous_row
        on
            current_row.indicator_code = previous_row.indicator_code
            and current_row.region_code = previous_row.region_code
            and current_row.period = previous_row.period
            and current_row.dimension = previous_row.dimension
            and current_row.member is not distinct from previous_row.member
            and current_row.valid_from = previous_row.valid_to
    where current_row.valid_to is null
),

named as (
    select
        indicator_values.indicator_code,
        indicators.name_zh as indicator_name,
        indicator_values.region_code,
        regions.name_zh as region_name,
        regions.level as region_level,
        indicator_values.period,
        indicator_values.period_type,
        substr(indicator_values.period, 1, 4) as year,  -- noqa: RF04
        case
            when indicator_values.period_type = 'month' then cast(substr(indicator_values.period, 6, 2) as integer)
        end as month_of_year,
        case
            when indicator_values.period_type = 'month' then cast(indicator_values.period || '-01' as date)
            else cast(indicator_values.period || '-01-01' as date)
        end as period_start,
        indicator_values.dimension,
        indicator_values.member,
        case
            when indicator_values.dimension = 'total' then '合计'
            else coalesce(member_labels.name_zh, indicator_values.member)
        end as member_name,
        indicator_values.value,
        indicator_values.unit,
        indicator_values.conf_status,
        coalesce(conf_status_names.name_zh, indicator_values.conf_status) as conf_status_name,
        indicator_values.conf_status != 'F' as is_withheld,
        case when indicator_values.conf_status != 'F' then conf_status_names.name_zh end as withheld_reason,
        revised.revised_in_release is not null as is_revised,
        case when revised.revised_in_release is not null then '已修订' end as revision_mark,
        revised.revised_in_release,
        revised.previous_value,
        revised.previous_conf_status,
        previous_status_names.name_zh as previous_conf_status_name
    from indicator_values
    inner join indicators on indicator_values.indicator_code = indicators.code
    inner join regions on indicator_values.region_code = regions.region_code
    left join member_labels
        on indicator_values.dimension = 'category' and indicator_values.member = member_labels.code
    left join conf_status_names on indicator_values.conf_status = conf_status_names.code
    left join revised
        on
            indicator_values.indicator_code = revised.indicator_code
            and indicator_values.region_code = revised.region_code
            and indicator_values.period = revised.period
            and indicator_values.dimension = revised.dimension
            and indicator_values.member is not distinct from revised.member
    left join conf_status_names as previous_status_names on revised.previous_conf_status = previous_status_names.code
),

final as (
    select
        indicator_code,
        indicator_name,
        region_code,
        region_name,
        {{ withheld_label('region_name', 'period', 'period_type', 'withheld_reason') }} as region_label,
        region_level,
        period,
        period_type,
        year,
        month_of_year,
        period_start,
        dimension,
        member,
        member_name,
        {{ withheld_label('member_name', 'period', 'period_type', 'withheld_reason') }} as member_label,
        value,
        unit,
        coalesce({{ display_text('value', 'unit') }}, withheld_reason) as value_text,
        conf_status,
        conf_status_name,
        is_withheld,
        withheld_reason,
        -- a ratio's change from the prior year in percentage points (0.030 → 0.032 is +0.2 points, not +6.7 %);
        -- null without a value for the year before (a withheld year has none)
        case
            when
                unit = 'ratio' and period_type = 'year'
                and lag(period) over prior = cast(cast(period as integer) - 1 as varchar)
                then (value - lag(value) over prior) * 100
        end as change_pp_from_prior_year,
        is_revised,
        revision_mark,
        revised_in_release,
        -- a cell withheld now shows no number of an earlier release either, only its reason
        case when not is_withheld then previous_value end as previous_value,
        case
            when is_revised and is_withheld then withheld_reason
            when is_revised then coalesce({{ display_text('previous_value', 'unit') }}, previous_conf_status_name)
        end as previous_value_text
    from named
    window prior as (partition by indicator_code, region_code, period_type, dimension, member order by period)
)

select * from final
