-- warehouse_info.sql: one row that says what this published warehouse is. is_sample_data is true when the run
-- was a demo (`innostat demo`, `--demo`, `make demo`: INNOSTAT_DEMO=1, or the dbt var is_sample_data), so every
-- dashboard can mark its figures as 示例数据. built_at is the dbt run's start (Asia/Shanghai), data_end_date the
-- last day of the latest month any indicator has a monthly value for. as_of_date is the day sample data are judged
-- as of (freshness, "days since delivery"): the day after data_end_date, as pipelines/lib/freshness.py does for a
-- demo; null for real data, which are judged against today.
-- A view of literals and one small aggregate: rebuilt by every build (tag final), no stored copy.
{{ config(materialized='view', tags=['final']) }}

{%- set is_sample = var('is_sample_data', env_var('INNOSTAT_DEMO', '0') == '1') | string | lower in ['true', '1'] %}
{%- set built_at = run_started_at.astimezone(modules.pytz.timezone('Asia/Shanghai')).strftime('%Y-%m-%d %H:%M:%S') %}

with monthly_values as (
    select period from {{ ref('indicator_values') }}
    where period_type = 'month'
),

data_end as (
    select
        {{ dbt.last_day("cast(" ~ dbt.concat(["max(period)", "'-01'"]) ~ " as date)", "month") }} as data_end_date
    from monthly_values
),

final as (
    select
        {{ 'true' if is_sample else 'false' }} as is_sample_data,
        cast(data_end.data_end_date as date) as data_end_date,
        {% if is_sample -%}
            cast({{ dbt.dateadd('day', 1, 'data_end.data_end_date') }} as date)
        {%- else -%}
            cast(null as date)
        {%- endif %} as as_of_date,
        cast('{{ built_at }}' as timestamp) as built_at
    from data_end
)

select * from final
