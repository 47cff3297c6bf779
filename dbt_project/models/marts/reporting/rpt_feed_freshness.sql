-- rpt_feed_freshness.sql: one row per feed, from the ingest ledger: its Chinese name, the last delivery and
-- ingestion, the days since that delivery, and the files and rows it brought. Sample data (`make demo`) are
-- judged as of their own end (warehouse_info.as_of_date), not today; a sample revision delivered after that end
-- counts as fresh (0 days), not as negative days.
with ledger as (select * from {{ ref('ingest_ledger') }}),

warehouse_info as (select * from {{ ref('warehouse_info') }}),

feed_names as (
    {{ labels_of('feed') }}
),

sample_end as (
    select max(as_of_date) as as_of_date
    from warehouse_info
    where is_sample_data
),

judged_as_of as (
    select coalesce((select as_of_date from sample_end), current_date) as as_of_date
),

per_feed as (
    select
        feed,
        max(delivered_at) as last_delivered_at,
        max(ingested_at) as last_ingested_at,
        cast(count(*) filter (where status <> 'duplicate') as bigint) as files,
        cast(count(*) filter (where status = 'rejected') as bigint) as files_rejected,
        cast(sum(rows_loaded) as bigint) as rows_loaded,
        cast(sum(rows_quarantined) as bigint) as rows_quarantined,
        cast(sum(rows_skipped) as bigint) as rows_skipped
    from ledger
    group by feed
),

final as (
    select
        per_feed.feed,
        coalesce(feed_names.name_zh, per_feed.feed) as feed_name,
        per_feed.last_delivered_at,
        per_feed.last_ingested_at,
        cast(greatest(0, date_diff('day', per_feed.last_delivered_at, judged_as_of.as_of_date)) as bigint)
            as days_since_delivery,
        per_feed.files,
        per_feed.files_rejected,
        per_feed.rows_loaded,
        per_feed.rows_quarantined,
        per_feed.rows_skipped
    from per_feed
    cross join judged_as_of
    left join feed_names on per_feed.feed = feed_names.code
)

select * from final
