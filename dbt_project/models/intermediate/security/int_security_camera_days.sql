-- int_security_camera_days.sql: one row per (camera_id, status_date); a camera-day delivered again is replaced
-- by the LATER delivered row (FEEDS.md, security), street included.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='status_month',
    )
}}
-- Incremental by month: an incremental run recomputes the whole months of its window.
with statuses as (
    select * from {{ ref('stg_security__camera_statuses') }}
    {% if is_incremental() %}
        where {{ in_month_window('status_date') }}
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by camera_id, status_date
            order by delivered_at desc, source_file desc, source_row desc
        ) as recency_rank
    from statuses
),

camera_days as (
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
    from ranked
    where recency_rank = 1
)

select * from camera_days
