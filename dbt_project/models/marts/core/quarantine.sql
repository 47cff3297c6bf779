-- quarantine.sql: every row a feed rejected, with the reason, so nothing is silently lost
with source as (select * from {{ source('raw', 'quarantine') }}),

renamed as (
    select
        feed,
        source_file,
        source_row,
        reason,
        raw,
        source_sheet,
        file_hash,
        delivered_at,
        ingested_at
    from source
)

select * from renamed
