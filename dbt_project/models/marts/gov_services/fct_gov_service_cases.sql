-- depends_on: {{ ref('int_gov_service_events_deduplicated') }}
-- fct_gov_service_cases.sql: one row per government-service case, as assembled from its events.
-- Personal data only as keyed pseudonyms (applicant id and phone are pseudonymised at ingestion).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='case_id',
    )
}}
with cases as (
    select * from {{ ref('int_gov_service_cases_assembled') }}
    {% if is_incremental() %}
        -- the cases the intermediate model re-assembled in this run's month window
        where case_id in {{ ids_in_month_window(ref('int_gov_service_events_deduplicated'), 'case_id', 'occurred_at') }}
    {% endif %}
),

final as (
    select
        case_id,
        department,
        channel,
        item_code,
        item_name,
        applicant_type,
        applicant_id_pseudonym,
        applicant_phone_pseudonym,
        submitted_at,
        accepted_at,
        promised_days,
        completed_at,
        visits,
        rejected_at,
        rated_at,
        rating,
        rating_count,
        event_count,
        processing_days,
        is_on_time,
        is_one_visit,
        is_zero_visit,
        is_online,
        is_rejected,
        has_rating,
        submitted_month,
        completed_month
    from cases
)

select * from final
