-- fct_security_incidents.sql: one row per 110 incident in its current state (the later delivered record).
-- Reporter data only as keyed pseudonyms; coordinates as stored (rounded to 3 decimals at ingestion).
with incidents as (select * from {{ ref('int_security_incidents_current') }}),

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
