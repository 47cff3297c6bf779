-- stg_rd_filings__filings.sql: one row per valid delivered filing (exact re-deliveries were dropped at ingestion),
-- typed and renamed; money kept as delivered in 万元 and also given in yuan.
with source as (select * from {{ source('raw', 'rd_filings') }}),

renamed as (
    select
        filing_id,
        credit_code,
        enterprise_name,
        street_code,
        industry,
        cast(filing_year as integer) as filing_year,
        cast(rd_expense_wan_yuan as double) as rd_expense_wan_yuan,
        cast(cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000 as double) as rd_expense_yuan,
        cast(rd_personnel as bigint) as rd_personnel,
        cast(revenue_wan_yuan as double) as revenue_wan_yuan,
        cast(cast(revenue_wan_yuan as decimal(38, 6)) * 10000 as double) as revenue_yuan,
        cast(new_product_revenue_wan_yuan as double) as new_product_revenue_wan_yuan,
        cast(invention_patent_applications as bigint) as invention_patent_applications,
        cast(invention_patents_granted as bigint) as invention_patents_granted,
        nullif(ht_certificate_no, '') as ht_certificate_no,
        coalesce(ht_certificate_no, '') != '' as has_ht_certificate,
        submitted_at,
        nullif(amends_filing_id, '') as amends_filing_id,
        coalesce(amends_filing_id, '') != '' as is_amendment,
        content_hash,
        source_file,
        source_sheet,
        source_row,
        file_hash,
        delivered_at,
        ingested_at
    from source
)

select * from renamed
