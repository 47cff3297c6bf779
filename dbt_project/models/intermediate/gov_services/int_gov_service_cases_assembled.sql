-- int_gov_service_cases_assembled.sql: one row per case_id, assembled from its deduplicated events
-- (FEEDS.md, gov_services). Every case_id that has at least one valid event gets a row, also a case whose
-- `submitted` event never arrived (its department, channel and submission time are then null).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='case_id',
        meta={'column_compression': {
            'case_id': 'uncompressed',
            'applicant_id_pseudonym': 'uncompressed',
            'applicant_phone_pseudonym': 'uncompressed',
        }},
    )
}}
-- Case ids and pseudonyms never repeat: DuckDB's string compression of them cost a city's first build ~12 s of
-- writing, so they are stored uncompressed, for ~0.7 GB more of a city's file (macros/column_compression.sql).
--
-- Incremental by month: a case with any event in the month window is re-assembled from ALL its events,
-- so a late completion in June updates a case submitted in March.
--
-- Each event type is read from the events table on its own, with only the columns it needs: no CTE of all events
-- (DuckDB materialises a CTE used more than once; at city size that copy of 36 M wide rows spilled to disk). Of
-- each type, the first event of a case is taken by `first_row_per_key`: a case with one event of the type (almost
-- all) passes straight through, only the events of a case with several are sorted.
-- An incremental run first takes every event of the window's cases (small, so DuckDB materialising this CTE for
-- its readers is cheap); a full build reads the events table directly.
{%- set events = ref('int_gov_service_events_deduplicated') %}
{%- set earliest_first = 'occurred_at asc, delivered_at asc, source_file asc, source_row asc' %}

with
{% if is_incremental() %}
window_events as (
    select *
    from {{ events }}
    where {{ id_in_month_window(events, 'case_id', 'occurred_at') }}
),
{%- set events = 'window_events' %}
{% endif %}

-- several `submitted` events: the earliest occurred_at describes the case; equal occurred_at → first delivered
{{ first_row_per_key(
    'submissions',
    events,
    'case_id',
    [
        ('occurred_at', 'submitted_at'),
        ('department', 'department'),
        ('channel', 'channel'),
        ('item_code', 'item_code'),
        ('item_name', 'item_name'),
        ('applicant_type', 'applicant_type'),
        ('applicant_id_pseudonym', 'applicant_id_pseudonym'),
        ('applicant_phone_pseudonym', 'applicant_phone_pseudonym'),
    ],
    "event_type = 'submitted'",
    earliest_first,
) }},

{{ first_row_per_key(
    'acceptances', events, 'case_id',
    [('occurred_at', 'accepted_at'), ('promised_days', 'promised_days')],
    "event_type = 'accepted'",
    earliest_first,
) }},

{{ first_row_per_key(
    'completions', events, 'case_id',
    [('occurred_at', 'completed_at'), ('visits', 'visits')],
    "event_type = 'completed'",
    earliest_first,
) }},

{{ first_row_per_key(
    'rejections', events, 'case_id',
    [('occurred_at', 'rejected_at')],
    "event_type = 'rejected'",
    earliest_first,
) }},

-- a `rated` event without a rating value is no rating; the latest occurred_at wins, a tie → later delivered
{{ first_row_per_key(
    'latest_ratings', events, 'case_id',
    [('occurred_at', 'rated_at'), ('rating', 'rating')],
    "event_type = 'rated' and rating is not null",
    'occurred_at desc, delivered_at desc, source_file desc, source_row desc',
    count_as='rating_count',
) }},

cases as (
    select
        case_id,
        count(*) as event_count
    from {{ events }}
    group by case_id
),

assembled as (
    select
        cases.case_id,
        submissions.department,
        submissions.channel,
        submissions.item_code,
        submissions.item_name,
        submissions.applicant_type,
        submissions.applicant_id_pseudonym,
        submissions.applicant_phone_pseudonym,
        submissions.submitted_at,
        acceptances.accepted_at,
        acceptances.promised_days,
        completions.completed_at,
        completions.visits,
        rejections.rejected_at,
        latest_ratings.rated_at,
        latest_ratings.rating,
        cast(cases.event_count as {{ dbt.type_bigint() }}) as event_count,
        cast(coalesce(latest_ratings.rating_count, 0) as {{ dbt.type_bigint() }}) as rating_count,
        -- exact duration: microseconds / 86 400 000 000 (naive Shanghai wall clock has no DST since 1991);
        -- null unless the case was both accepted and completed
        cast(
            {{ microseconds_between('acceptances.accepted_at', 'completions.completed_at') }}
            as double
        ) / 86400000000.0 as processing_days
    -- the wide submissions (text and two pseudonyms a case) joined last: DuckDB keeps the order of left joins,
    -- and the narrow ones first left less to carry through each hash join (a city's first build 44.6 → 37.1 s)
    from cases
    left join acceptances on cases.case_id = acceptances.case_id
    left join completions on cases.case_id = completions.case_id
    left join rejections on cases.case_id = rejections.case_id
    left join latest_ratings on cases.case_id = latest_ratings.case_id
    left join submissions on cases.case_id = submissions.case_id
),

derived as (
    select
        *,
        -- inclusive deadline; only judged for a completed case accepted with promised_days
        case
            when completed_at is not null and accepted_at is not null and promised_days is not null
                then completed_at <= {{ add_hours('promised_days * 24', 'accepted_at') }}
        end as is_on_time,
        visits <= 1 as is_one_visit,
        visits = 0 as is_zero_visit,
        channel in ('online', 'app') as is_online,
        rejected_at is not null as is_rejected,
        rating is not null as has_rating,
        {{ month_key('submitted_at') }} as submitted_month,
        {{ month_key('completed_at') }} as completed_month
    from assembled
)

select * from derived
