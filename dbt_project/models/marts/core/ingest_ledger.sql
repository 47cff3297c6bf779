-- ingest_ledger.sql: which source file (by content hash) was ingested when, with what result
with source as (select * from {{ source('raw', 'ingest_ledger') }}),

reasons as (select * from {{ ref('quarantine_reasons') }}),

renamed as (
    select
        source.feed,
        source.source_file,
        source.file_hash,
        source.bytes,
        source.delivered_at,
        source.ingested_at,
        source.status,
        source.reason,
        source.reason_code,
        reasons.label_zh as reason_label,
        source.reason_detail,
        source.duplicate_of,
        source.rows_loaded,
        source.rows_quarantined,
        source.rows_skipped,
        source.run_id
    from source
    left join reasons on source.reason_code = reasons.code
)

select * from renamed
