-- fct_camera_days.sql: one row per camera and day (雪亮工程 snapshot), the later delivered row of a camera-day.
--
-- A view over int_security_camera_days (itself a view over the raw layer and the camera-days delivered again),
-- which holds exactly these rows: a table was a second copy of 41 M camera-days at city size
-- (benchmarks/CHANGELOG.md, sixth round).
{{ config(materialized='view') }}

with camera_days as (
    select * from {{ ref('int_security_camera_days') }}
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
