-- int_rd_filings_current.sql: the current filing of each enterprise-year (credit_code, filing_year), the only
-- filing of that enterprise-year that any ENT_* indicator sums.
with ranked as (select * from {{ ref('int_rd_filings_ranked') }}),

current_filings as (
    select
        credit_code,
        filing_year,
        filing_id,
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
        enterprise_year_filings,
        source_file,
        source_row,
        delivered_at
    from ranked
    where is_current
)

select * from current_filings
