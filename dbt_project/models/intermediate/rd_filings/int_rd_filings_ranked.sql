-- int_rd_filings_ranked.sql: every valid filing, ranked within its enterprise-year (credit_code, filing_year).
-- The current filing is the one with the latest 填报时间 (submitted_at); on equal submitted_at the later
-- delivered one wins (delivery order: delivered_at, source_file, source_row). Amendments and duplicate
-- submissions that lose stay here for audit and are never summed.
with filings as (select * from {{ ref('stg_rd_filings__filings') }}),

ranked as (
    select
        *,
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
        *,
        current_rank = 1 as is_current,
        first_value(filing_id) over (
            partition by credit_code, filing_year
            order by current_rank asc
        ) as current_filing_id
    from ranked
)

select * from flagged
