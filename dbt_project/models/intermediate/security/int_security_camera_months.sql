-- int_security_camera_months.sql: per month and region (each street, and the district total 430406), the camera
-- counts SEC_CAMERAS and SEC_CAMERA_ONLINE_RATE are made of. A camera-day counts under the street of its winning
-- row and in the district total; a camera that moves street within a month counts once in each street and once
-- in the district (a distinct count is not additive, so the district is counted on its own).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='period',
    )
}}
-- Incremental by month: the distinct count over a city's 41 M camera-days took 4 s of every daily run; a run
-- recounts only the months of its window. The camera-days (a view over the raw layer) are read in each branch,
-- not through a CTE that DuckDB would materialise for its two readers.
{%- set camera_days = ref('int_security_camera_days') %}

with camera_regions as (
    select
        status_month as period,
        street_code as region_code,
        camera_id,
        is_online
    from {{ camera_days }}
    {% if is_incremental() %}
        where {{ in_month_window('status_date') }}
    {% endif %}
    union all
    select
        status_month as period,
        '430406' as region_code,
        camera_id,
        is_online
    from {{ camera_days }}
    {% if is_incremental() %}
        where {{ in_month_window('status_date') }}
    {% endif %}
)

select
    period,
    region_code,
    count(distinct camera_id) as camera_count,
    count(*) as camera_day_count,
    sum(case when is_online then 1 else 0 end) as online_camera_day_count
from camera_regions
group by period, region_code
