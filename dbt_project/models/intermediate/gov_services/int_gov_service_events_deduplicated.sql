-- int_gov_service_events_deduplicated.sql: one row per event_id, the FIRST delivered copy.
-- Delivery is at-least-once: a repeated event_id is the same event again, so later copies add nothing
-- (FEEDS.md, gov_services). Delivery order is (delivered_at, source_file, source_row).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='event_id',
    )
}}
-- Incremental by month: an incremental run recomputes only the event_ids with a copy in the month window.
with all_copies as (select * from {{ ref('stg_gov_services__events') }}),

events as (
    select * from all_copies
    {% if is_incremental() %}
        where event_id in {{ ids_in_month_window(ref('stg_gov_services__events'), 'event_id', 'occurred_at') }}
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by event_id
            order by delivered_at asc, source_file asc, source_row asc
        ) as delivery_rank,
        -- the whole partition, but with the rank's order: one sort of the events, not two
        count(*) over (
            partition by event_id
            order by delivered_at asc, source_file asc, source_row asc
            rows between unbounded preceding and unbounded following
        ) as copies_delivered
    from events
),

first_copies as (
    select
        event_id,
        case_id,
        event_type,
        occurred_at,
        item_code,
        item_name,
        department,
        channel,
        applicant_type,
        applicant_id_pseudonym,
        applicant_phone_pseudonym,
        visits,
        promised_days,
        rating,
        source_file,
        source_row,
        delivered_at,
        cast(copies_delivered as {{ dbt.type_bigint() }}) as copies_delivered
    from ranked
    where delivery_rank = 1
)

select * from first_copies
