-- fct_rd_filings.sql: every valid filing (amendments and duplicate submissions included), with is_current
-- marking the one filing per enterprise-year (credit_code, filing_year) that the ENT_* indicators sum.
with ranked as (select * from {{ ref('int_rd_filings_ranked') }}),

final as (
    select
        filing_id,
        credit_code,
        filing_year,
        enterprise_name,
        street_code,
        industry,
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
        is_current,
        current_rank,
        current_filing_id,
        enterprise_year_filings,
        content_hash,
        source_file,
        source_sheet,
        source_row,
        delivered_at,
        ingested_at
    from ranked
)

select * from final
