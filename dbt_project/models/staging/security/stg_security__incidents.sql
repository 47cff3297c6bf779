-- stg_security__incidents.sql: one row per delivered valid incident record (every re-send kept), typed and renamed
with source as (select * from {{ source('raw', 'security_incidents') }}),

renamed as (
    select
        cast(incident_id as {{ dbt.type_string() }}) as incident_id,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        cast(dispatched_at as {{ dbt.type_timestamp() }}) as dispatched_at,
        cast(arrived_at as {{ dbt.type_timestamp() }}) as arrived_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(street_code as {{ dbt.type_string() }}) as street_code,
        cast(lat as double) as lat,
        cast(lon as double) as lon,
        cast(source as {{ dbt.type_string() }}) as report_source,
        cast(reporter_name_pseudonym as {{ dbt.type_string() }}) as reporter_name_pseudonym,
        cast(reporter_phone_pseudonym as {{ dbt.type_string() }}) as reporter_phone_pseudonym,
        cast(reporter_id_number_pseudonym as {{ dbt.type_string() }}) as reporter_id_number_pseudonym,
        cast(is_reporter_id_valid as boolean) as is_reporter_id_valid,
        cast(extra_columns as {{ dbt.type_string() }}) as extra_columns,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_row as {{ dbt.type_bigint() }}) as source_row,
        cast(file_hash as {{ dbt.type_string() }}) as file_hash,
        cast(delivered_at as {{ dbt.type_timestamp() }}) as delivered_at,
        cast(ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source
)

select * from renamed
