-- int_rd_filings_ranked.sql: every valid filing, ranked within its enterprise-year (credit_code, filing_year).
-- The current filing is the one with the latest 填报时间 (submitted_at); on equal submitted_at the later
-- delivered one wins (delivery order: delivered_at, source_file, source_row). Amendments and duplicate
-- submissions that lose stay here for audit and are never summed.
with filings as (select * from {{ ref('stg_rd_filings__filings') }}),

ranked as (
    select
        filing_id,
        credit_code,
        enterprise_name,
        street_code,
        industry,
        filing_year,
        rd_expense_wan_yuan,
        rd_expense_yuan,
        rd_personnel,
        revenue_wan_yuan,
        revenue_yuan,
        new_product_revenue_wan_yuan,
        invention_patent_applications,
        invention_patents_granted,
        ht_certificate_no,
        has_ht_certificate,
        submitted_at,
        amends_filing_id,
        is_amendment,
        content_hash,
        source_file,
        source_sheet,
        source_row,
        file_hash,
        delivered_at,
        ingested_at,
        cast(row_number() over (
            partition by credit_code, filing_year
            order by
                submitted_at desc,
                delivered_at desc,
                source_file desc,
                source_row desc,
                source_sheet desc nulls last
        ) as bigint) as current_rank,
        cast(count(*) over (partition by credit_code, filing_year) as bigint) as enterprise_year_filings
    from filings
),

flagged as (
    select
        filing_id,
        credit_code,
        enterprise_name,
        street_code,
        industry,
        filing_year,
        rd_expense_wan_yuan,
        rd_expense_yuan,
        rd_personnel,
        revenue_wan_yuan,
        revenue_yuan,
        new_product_revenue_wan_yuan,
        invention_patent_applications,
        invention_patents_granted,
        ht_certificate_no,
        has_ht_certificate,
        submitted_at,
        amends_filing_id,
        is_amendment,
        content_hash,
        source_file,
        source_sheet,
        source_row,
        file_hash,
        delivered_at,
        ingested_at,
        current_rank,
        enterprise_year_filings,
        current_rank = 1 as is_current,
        first_value(filing_id) over (
            partition by credit_code, filing_year
            order by current_rank asc
        ) as current_filing_id
    from ranked
)

select * from flagged
