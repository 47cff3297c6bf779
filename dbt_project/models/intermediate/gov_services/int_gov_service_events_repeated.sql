-- int_gov_service_events_repeated.sql: for each event_id delivered more than once, its FIRST delivered copy and
-- how many copies were delivered. Delivery is at-least-once: a repeated event_id is the same event again, so later
-- copies add nothing (FEEDS.md, gov_services). Delivery order is (delivered_at, source_file, source_row).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='event_id',
    )
}}
-- Only the repeats are stored (at city size 0.3 % of the ids: 108 000 rows): int_gov_service_events_deduplicated
-- is a view that takes every other event straight from the raw layer. A table of all 36 M deduplicated events cost
-- a first build ~30 s of DuckDB writing 18 columns, for rows that are the raw rows as delivered
-- (benchmarks/CHANGELOG.md, ninth round).
--
-- Incremental by month: an incremental run recomputes the event_ids with a copy in the month window, over all
-- their copies. A repeated id stays repeated (copies are never removed), so delete+insert on event_id suffices.
{%- set copies = ref('stg_gov_services__events') %}

with
{% if is_incremental() %}
window_copies as (
    select *
    from {{ copies }}
    where {{ id_in_month_window(copies, 'event_id', 'occurred_at') }}
),
{%- set copies = 'window_copies' %}
{% endif %}

repeated_ids as (
    select event_id
    from {{ copies }}
    group by event_id
    having count(*) > 1
),

ranked_repeats as (
    select
        *,
        row_number() over (
            partition by event_id
            order by delivered_at asc, source_file asc, source_row asc
        ) as delivery_rank,
        count(*) over (partition by event_id) as copies_delivered
    from {{ copies }}
    where event_id in (select repeated_ids.event_id from repeated_ids)
)

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
from ranked_repeats
where delivery_rank = 1
