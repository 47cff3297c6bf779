-- rpt_ingest_files.sql: one row per source file of the ingest ledger, with the feed's and the status's Chinese
-- names and the delivery month and year.
with ledger as (select * from {{ ref('ingest_ledger') }}),

labels as (select * from {{ ref('reporting_labels') }}),

final as (
    select
        ledger.feed,
        coalesce(feed_names.name_zh, ledger.feed) as feed_name,
        ledger.source_file,
        ledger.status,
        coalesce(status_names.name_zh, ledger.status) as status_name,
        ledger.delivered_at,
        strftime(ledger.delivered_at, '%Y-%m') as delivered_month,
        strftime(ledger.delivered_at, '%Y') as year,  -- noqa: RF04
        ledger.ingested_at,
        ledger.rows_loaded,
        ledger.rows_quarantined,
        ledger.rows_skipped
    from ledger
    left join labels as feed_names on feed_names.label_set = 'feed' and ledger.feed = feed_names.code
    left join labels as status_names
        on status_names.label_set = 'ingest_status' and ledger.status = status_names.code
)

select * from final
