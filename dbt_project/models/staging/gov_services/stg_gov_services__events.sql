-- stg_gov_services__events.sql: one row per delivered valid event line (repeats kept), typed and renamed
with source as (select * from {{ source('raw', 'gov_services') }}),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(case_id as {{ dbt.type_string() }}) as case_id,
        cast(event_type as {{ dbt.type_string() }}) as event_type,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(item_code as {{ dbt.type_string() }}) as item_code,
        cast(item_name as {{ dbt.type_string() }}) as item_name,
        cast(department as {{ dbt.type_string() }}) as department,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(applicant_type as {{ dbt.type_string() }}) as applicant_type,
        cast(applicant_id_pseudonym as {{ dbt.type_string() }}) as applicant_id_pseudonym,
        cast(applicant_phone_pseudonym as {{ dbt.type_string() }}) as applicant_phone_pseudonym,
        cast(visits as {{ dbt.type_bigint() }}) as visits,
        cast(promised_days as {{ dbt.type_bigint() }}) as promised_days,
        cast(rating as {{ dbt.type_bigint() }}) as rating,
        cast(extra_columns as {{ dbt.type_string() }}) as extra_columns,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_row as {{ dbt.type_bigint() }}) as source_row,
        cast(file_hash as {{ dbt.type_string() }}) as file_hash,
        cast(delivered_at as {{ dbt.type_timestamp() }}) as delivered_at,
        cast(ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source
)

select * from renamed
