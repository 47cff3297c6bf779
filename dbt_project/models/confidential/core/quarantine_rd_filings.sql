-- quarantine_rd_filings.sql: the quarantined rows of the R&D filings feed as delivered: `raw` (the row as JSON)
-- and `reason` / `reason_detail` (the rule broken, in words, with the offending value) name enterprises by credit
-- code and carry their money, so they live here, not in marts.quarantine, which keeps these rows countable
-- without them (docs/indicators.md).
with source as (select * from {{ source('raw', 'quarantine') }}),

reasons as (select * from {{ ref('quarantine_reasons') }}),

renamed as (
    select
        source.feed,
        source.source_file,
        source.source_row,
        source.reason,
        source.reason_code,
        reasons.label_zh as reason_label,
        source.reason_detail,
        source.raw,
        source.source_sheet,
        source.file_hash,
        source.delivered_at,
        source.ingested_at
    from source
    left join reasons on source.reason_code = reasons.code
    where source.feed = 'rd_filings'
)

select * from renamed
