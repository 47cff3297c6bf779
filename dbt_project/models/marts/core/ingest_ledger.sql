-- ingest_ledger.sql: which source file (by content hash) was ingested when, with what result
with source as (select * from {{ source('raw', 'ingest_ledger') }}),

renamed as (
    select
        feed,
        source_file,
        file_hash,
        bytes,
        delivered_at,
        ingested_at,
        status,
        reason,
        rows_loaded,
        rows_quarantined,
        rows_skipped,
        run_id
    from source
)

select * from renamed
