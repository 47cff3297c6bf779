-- int_security_camera_days_repeated.sql: for each (camera_id, status_date) delivered more than once, its LATER
-- delivered row (FEEDS.md, security), street included.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='status_month',
    )
}}
-- Only the camera-days delivered again are stored (a few hundred at city size): int_security_camera_days is a view
-- that takes every other camera-day straight from the raw layer. A table of all 41 M camera-days cost a first
-- build 15 s, mostly DuckDB writing rows that are the raw rows as delivered (benchmarks/CHANGELOG.md, ninth round).
--
-- Incremental by month: an incremental run recomputes the whole months of its window (every copy of a camera-day
-- has the day's month).
{%- set statuses = ref('stg_security__camera_statuses') %}

with
{% if is_incremental() %}
window_statuses as (
    select *
    from {{ statuses }}
    where {{ in_month_window('status_date') }}
),
{%- set statuses = 'window_statuses' %}
{% endif %}

repeated_days as (
    select
        camera_id,
        status_date
    from {{ statuses }}
    group by camera_id, status_date
    having count(*) > 1
),

ranked_repeats as (
    select
        *,
        row_number() over (
            partition by camera_id, status_date
            order by delivered_at desc, source_file desc, source_row desc
        ) as recency_rank
    from {{ statuses }} as delivered_row
    where
        exists (
            select 1 from repeated_days
            where
                repeated_days.camera_id = delivered_row.camera_id
                and repeated_days.status_date = delivered_row.status_date
        )
)

select
    camera_id,
    status_date,
    street_code,
    installed_on,
    is_online,
    {{ month_key('status_date') }} as status_month,
    source_file,
    source_row,
    delivered_at
from ranked_repeats
where recency_rank = 1
