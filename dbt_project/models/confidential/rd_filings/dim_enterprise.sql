-- dim_enterprise.sql: one row per enterprise (credit_code). Name, street and industry come from its latest
-- current filing (the current filing of its latest 年度); the name falls back to the latest delivered non-empty
-- name when that filing left it empty.
with filings as (select * from {{ ref('int_rd_filings_ranked') }}),

latest_current as (
    select
        credit_code,
        filing_id,
        filing_year,
        enterprise_name,
        street_code,
        industry,
        has_ht_certificate,
        ht_certificate_no,
        row_number() over (partition by credit_code order by filing_year desc) as year_rank
    from filings
    where is_current
),

named as (
    select
        credit_code,
        enterprise_name,
        row_number() over (
            partition by credit_code
            order by
                filing_year desc,
                submitted_at desc,
                delivered_at desc,
                source_file desc,
                source_row desc,
                source_sheet desc nulls last
        ) as name_rank
    from filings
    where enterprise_name is not null
),

spans as (
    select
        credit_code,
        min(filing_year) as first_filing_year,
        max(filing_year) as last_filing_year,
        cast(count(distinct filing_year) as bigint) as filing_years,
        cast(count(*) as bigint) as filings
    from filings
    group by credit_code
),

final as (
    select
        latest_current.credit_code,
        coalesce(latest_current.enterprise_name, named.enterprise_name) as enterprise_name,
        latest_current.street_code,
        latest_current.industry,
        spans.first_filing_year,
        spans.last_filing_year,
        spans.filing_years,
        spans.filings,
        latest_current.filing_id as latest_filing_id,
        latest_current.has_ht_certificate as is_ht_certified_latest,
        latest_current.ht_certificate_no as ht_certificate_no_latest
    from latest_current
    inner join spans on latest_current.credit_code = spans.credit_code
    left join named
        on
            latest_current.credit_code = named.credit_code
            and named.name_rank = 1
    where latest_current.year_rank = 1
)

select * from final
