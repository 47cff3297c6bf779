-- quarantine.sql: every row a feed rejected, with the reason, so nothing is silently lost. A rejected R&D filing
-- keeps its row and reason code, but not what it held: its raw text, its reason in words and its detail name the
-- enterprise (credit code) and its money, so they are NULL / the rule's generic label here and complete in
-- confidential.quarantine_rd_filings (PUBLISHING.md §1).
with source as (select * from {{ source('raw', 'quarantine') }}),

reasons as (select * from {{ ref('quarantine_reasons') }}),

renamed as (
    select
        source.feed,
        source.source_file,
        source.source_row,
        case
            when source.feed = 'rd_filings'
                then coalesce(reasons.label_en, 'rejected row (details in the confidential schema)')
            else source.reason
        end as reason,
        source.reason_code,
        reasons.label_zh as reason_label,
        case when source.feed <> 'rd_filings' then source.reason_detail end
            as reason_detail,
        case when source.feed <> 'rd_filings' then source.raw end as raw,  -- noqa: RF04
        source.source_sheet,
        source.file_hash,
        source.delivered_at,
        source.ingested_at
    from source
    left join reasons on source.reason_code = reasons.code
)

select * from renamed
