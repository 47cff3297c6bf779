-- int_rd_filings_current.sql: the current filing of each enterprise-year (credit_code, filing_year), the only
-- filing of that enterprise-year that any ENT_* indicator sums, with every column of int_rd_filings_ranked.
with ranked as (select * from {{ ref('int_rd_filings_ranked') }}),

current_filings as (
    select * from ranked
    where is_current
)

select * from current_filings
