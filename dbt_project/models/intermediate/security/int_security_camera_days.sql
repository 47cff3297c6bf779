-- int_security_camera_days.sql: one row per (camera_id, status_date); a camera-day delivered again is replaced
-- by the LATER delivered row (FEEDS.md, security), street included.
{{ config(materialized='view') }}
-- A view: almost every camera-day is delivered once, and such a camera-day is its raw row as delivered, so it is
-- read from the raw layer; the later rows of the camera-days delivered again are the small table
-- int_security_camera_days_repeated. Materialising all 41 M camera-days again cost a first build 15 s of table
-- writes. The raw layer is append-only and the repeats are rebuilt for the run's months, so the view is always as
-- current as a table rebuilt by the same run would be.
{%- set statuses = ref('stg_security__camera_statuses') %}
{%- set repeats = ref('int_security_camera_days_repeated') %}

{#- the columns of a camera-day (status_month between them), as int_security_camera_days_repeated stores them:
    both halves of the union name them from here, so they line up (a dbt unit test gives this view fixtures,
    whose columns cannot be looked up) -#}
{%- set key_columns = ['camera_id', 'status_date', 'street_code', 'installed_on', 'is_online'] %}
{%- set lineage_columns = ['source_file', 'source_row', 'delivered_at'] %}

select
    {{ key_columns | join(',\n    ') }},
    {{ month_key('status_date') }} as status_month,
    {{ lineage_columns | join(',\n    ') }}
from {{ statuses }} as delivered_row
where
    not exists (
        select 1 from {{ repeats }} as repeated
        where
            repeated.camera_id = delivered_row.camera_id
            and repeated.status_date = delivered_row.status_date
    )

union all

select
    {{ key_columns | join(',\n    ') }},
    status_month,
    {{ lineage_columns | join(',\n    ') }}
from {{ repeats }}
