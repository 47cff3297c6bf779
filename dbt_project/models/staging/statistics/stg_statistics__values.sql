-- stg_statistics__values.sql: one row per delivered statistics value (a vintage), typed and renamed.
-- Ingestion already normalised the period key (`2020`/`2020-03`) and the value to base units.
with source as (select * from {{ source('raw', 'statistics') }}),

renamed as (
    select
        region_code,
        indicator_code,
        indicator_name,
        period,
        period_type,
        period_delivered,
        value,
        value_delivered,
        unit,
        unit_delivered,
        status,
        source_file,
        source_sheet,
        source_row,
        file_hash,
        delivered_at,
        ingested_at
    from source
)

select * from renamed
