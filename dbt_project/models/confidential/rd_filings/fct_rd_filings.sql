-- fct_rd_filings.sql: every valid filing (amendments and duplicate submissions included), with is_current
-- marking the one filing per enterprise-year (credit_code, filing_year) that the ENT_* indicators sum.
-- Every column of int_rd_filings_ranked but the file's hash; the published names, types and order are the
-- enforced contract in _rd_filings__models.yml (a contracted table is written in the contract's column order).
{%- set ranked_filings = ref('int_rd_filings_ranked') %}

with ranked as (select * from {{ ranked_filings }}),

final as (
    select {{ columns_of(ranked_filings, except=['file_hash']) }}
    from ranked
)

select * from final
