-- int_gov_service_events_deduplicated.sql: one row per event_id, the FIRST delivered copy.
-- Delivery is at-least-once: a repeated event_id is the same event again, so later copies add nothing
-- (FEEDS.md, gov_services). Delivery order is (delivered_at, source_file, source_row).
{{ config(materialized='view') }}
-- A view: almost every event arrives once (at city size 0.3 % of the ids repeat), and such an event is its raw
-- row as delivered, so it is read from the raw layer; the first copies of the repeated ids are the small table
-- int_gov_service_events_repeated. Materialising all 36 M events again cost a first build ~30 s of table writes.
-- The raw layer is append-only and the repeats are rebuilt for the run's month window, so the view is always
-- as current as a table rebuilt by the same run would be.
{%- set copies = ref('stg_gov_services__events') %}
{%- set repeats = ref('int_gov_service_events_repeated') %}

{#- the columns of an event, as int_gov_service_events_repeated stores them: both halves of the union name them
    from here, so they line up (a dbt unit test gives this view fixtures, whose columns cannot be looked up) -#}
{%- set event_columns = [
    'event_id', 'case_id', 'event_type', 'occurred_at', 'item_code', 'item_name', 'department', 'channel',
    'applicant_type', 'applicant_id_pseudonym', 'applicant_phone_pseudonym', 'visits', 'promised_days', 'rating',
    'source_file', 'source_row', 'delivered_at',
] %}

select
    {{ event_columns | join(',\n    ') }},
    cast(1 as {{ dbt.type_bigint() }}) as copies_delivered
from {{ copies }} as delivered_copy
where
    not exists (
        select 1 from {{ repeats }} as repeated
        where repeated.event_id = delivered_copy.event_id
    )

union all

select
    {{ event_columns | join(',\n    ') }},
    copies_delivered
from {{ repeats }}
