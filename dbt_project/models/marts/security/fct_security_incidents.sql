-- depends_on: {{ ref('stg_security__incidents') }}
-- fct_security_incidents.sql: one row per 110 incident in its current state (the later delivered record).
-- Reporter data only as keyed pseudonyms; coordinates as stored (rounded to 3 decimals at ingestion).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='incident_id',
    )
}}
with incidents as (
    select * from {{ ref('int_security_incidents_current') }}
    {% if is_incremental() %}
        -- the incidents the intermediate model recomputed in this run's month window
        where {{ id_in_month_window(ref('stg_security__incidents'), 'incident_id', 'received_at') }}
    {% endif %}
),

final as (
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
        response_min,
        received_month,
        records_delivered,
        delivered_at as state_delivered_at
    from incidents
)

select * from final
