-- rpt_quarantine_rows.sql: one row per quarantined row, without its raw content: the feed's Chinese name, the
-- Chinese reason (reason_label; a reason without a label shows the English one, its quoted values replaced by …)
-- and the delivery month.
with quarantine as (select * exclude (raw) from {{ ref('quarantine') }}),

feed_names as (
    {{ labels_of('feed') }}
),

final as (
    select
        quarantine.feed,
        coalesce(feed_names.name_zh, quarantine.feed) as feed_name,
        quarantine.source_file,
        quarantine.source_row,
        coalesce(quarantine.reason_label, regexp_replace(quarantine.reason, '''[^'']*''', '…', 'g')) as reason_kind,
        quarantine.delivered_at,
        strftime(quarantine.delivered_at, '%Y-%m') as delivered_month,
        strftime(quarantine.delivered_at, '%Y') as year,  -- noqa: RF04
        cast(date_trunc('month', quarantine.delivered_at) as date) as delivered_month_start,
        quarantine.ingested_at
    from quarantine
    left join feed_names on quarantine.feed = feed_names.code
)

select * from final
