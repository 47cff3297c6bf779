-- int_statistics_vintages.sql: every delivery of a statistics key (region, indicator, period), in delivery order.
-- Delivery order is (delivered_at, source_file, source_row); source_sheet only separates two sheets of one
-- workbook that deliver the same key on the same row number. The current delivery of a key is its latest
-- delivery with a value: a later "not available" (null) delivery stays a vintage but does not replace a number.
with deliveries as (select * from {{ ref('stg_statistics__values') }}),

ranked as (
    select
        *,
        cast(row_number() over (
            partition by region_code, indicator_code, period
            order by delivered_at asc, source_file asc, source_row asc, source_sheet asc nulls first
        ) as bigint) as delivery_rank,
        row_number() over (
            partition by region_code, indicator_code, period
            order by
                case when value is null then 1 else 0 end asc,
                delivered_at desc,
                source_file desc,
                source_row desc,
                source_sheet desc nulls last
        ) as latest_value_rank,
        count(*) over (partition by region_code, indicator_code, period) as key_deliveries
    from deliveries
),

-- the columns a vintage keeps (the raw file's hash, ingestion time and delivered indicator name stay in staging)
final as (
    select
        region_code,
        indicator_code,
        period,
        period_type,
        value,
        unit,
        status,
        delivered_at,
        source_file,
        source_sheet,
        source_row,
        period_delivered,
        value_delivered,
        unit_delivered,
        delivery_rank,
        delivery_rank = key_deliveries as is_latest_delivery,
        value is not null and latest_value_rank = 1 as is_current
    from ranked
)

select * from final
