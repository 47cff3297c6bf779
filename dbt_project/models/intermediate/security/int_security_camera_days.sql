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
--
-- Almost every camera-day is delivered once: those rows pass straight through, and only the copies of a
-- camera-day delivered again are ranked. A window over every row sorted 41 M camera-days at city size (33 s of
-- a first build; this way 18 s, the same rows: benchmarks/RESULTS.md, sixth round). An incremental run first
-- takes its months' rows (DuckDB materialising this small CTE for its three readers is cheap); a first build
-- reads the staging view directly.
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

single_days as (
    select
        camera_id,
        status_date,
        street_code,
        installed_on,
        is_online,
        source_file,
        source_row,
        delivered_at
    from {{ statuses }} as delivered_row
    where
        not exists (
            select 1 from repeated_days
            where
                repeated_days.camera_id = delivered_row.camera_id
                and repeated_days.status_date = delivered_row.status_date
        )
),

ranked_repeats as (
    select
        camera_id,
        status_date,
        street_code,
        installed_on,
        is_online,
        source_file,
        source_row,
        delivered_at,
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
),

winning_rows as (
    select * from single_days
    union all
    select
        camera_id,
        status_date,
        street_code,
        installed_on,
        is_online,
        source_file,
        source_row,
        delivered_at
    from ranked_repeats
    where recency_rank = 1
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
    from winning_rows
)

select * from camera_days
