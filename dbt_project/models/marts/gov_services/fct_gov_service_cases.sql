-- fct_gov_service_cases.sql: one row per government-service case, as assembled from its events.
-- Personal data only as keyed pseudonyms (applicant id and phone are pseudonymised at ingestion).
--
-- A view: its rows are int_gov_service_cases_assembled's, which is incremental by month. A table here was a
-- second copy of 10 M cases at city size, written again on a first build (20 s) and a month's cases on every
-- daily run (3 s), for no other change than the columns' order (benchmarks/CHANGELOG.md, sixth round).
{{ config(materialized='view') }}

with cases as (
    select * from {{ ref('int_gov_service_cases_assembled') }}
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
