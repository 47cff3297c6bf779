-- quarantine.sql: every row a feed rejected, with the reason, so nothing is silently lost
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
)

select * from renamed
