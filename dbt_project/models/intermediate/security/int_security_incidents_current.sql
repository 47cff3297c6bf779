-- int_security_incidents_current.sql: one row per incident_id, its current state = the LATER delivered valid
-- record (FEEDS.md, security). Every field comes from that record, so a re-send can change category and street.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='incident_id',
    )
}}
-- Incremental by month: an incident with any record received in the month window is recomputed from all
-- its records (a re-send may arrive months later).
with all_records as (select * from {{ ref('stg_security__incidents') }}),

records as (
    select * from all_records
    {% if is_incremental() %}
        where {{ id_in_month_window(ref('stg_security__incidents'), 'incident_id', 'received_at') }}
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by incident_id
            order by delivered_at desc, source_file desc, source_row desc
        ) as recency_rank,
        count(*) over (partition by incident_id) as records_delivered,
        {{ microseconds_between('received_at', 'arrived_at') }}
            as response_microseconds
    from records
),

current_state as (
    select
        incident_id,
        received_at,
        dispatched_at,
        arrived_at,
        closed_at,
        category,
        street_code,
        lat,
        lon,
        report_source,
        reporter_name_pseudonym,
        reporter_phone_pseudonym,
        reporter_id_number_pseudonym,
        is_reporter_id_valid,
        -- exact duration in minutes (microseconds / 60 000 000); null until an officer arrived
        cast(response_microseconds as double) / 60000000.0 as response_min,
        {{ month_key('received_at') }} as received_month,
        cast(records_delivered as {{ dbt.type_bigint() }}) as records_delivered,
        source_file,
        source_row,
        delivered_at
    from ranked
    where recency_rank = 1
)

select * from current_state
