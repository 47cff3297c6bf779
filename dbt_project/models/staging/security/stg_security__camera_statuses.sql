-- stg_security__camera_statuses.sql: one row per delivered valid camera-day status row, typed and renamed
with source as (select * from {{ source('raw', 'security_cameras') }}),

renamed as (
    select
        cast(camera_id as {{ dbt.type_string() }}) as camera_id,
        cast(street_code as {{ dbt.type_string() }}) as street_code,
        cast(installed_on as date) as installed_on,
        cast(status_date as date) as status_date,
        cast(is_online as boolean) as is_online,
        cast(extra_columns as {{ dbt.type_string() }}) as extra_columns,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_row as {{ dbt.type_bigint() }}) as source_row,
        cast(file_hash as {{ dbt.type_string() }}) as file_hash,
        cast(delivered_at as {{ dbt.type_timestamp() }}) as delivered_at,
        cast(ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source
)

select * from renamed
