-- fct_camera_days.sql: one row per camera and day (雪亮工程 snapshot), the later delivered row of a camera-day.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='status_month',
    )
}}
with camera_days as (
    select * from {{ ref('int_security_camera_days') }}
    {% if is_incremental() %}
        where {{ in_month_window('status_date') }}
    {% endif %}
),

final as (
    select
        camera_id,
        status_date,
        street_code,
        installed_on,
        is_online,
        status_month
    from camera_days
)

select * from final
