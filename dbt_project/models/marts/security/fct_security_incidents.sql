-- depends_on: {{ ref('stg_security__incidents') }}
-- fct_security_incidents.sql: one row per 110 incident in its current state (the later delivered record).
-- Reporter data only as keyed pseudonyms; coordinates as stored (rounded to 3 decimals at ingestion).
-- Every column of int_security_incidents_current but the record's file and row, its delivered_at named
-- state_delivered_at; the published names, types and order are the enforced contract in _security__models.yml.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        unique_key='incident_id',
    )
}}
{%- set current_incidents = ref('int_security_incidents_current') %}
with incidents as (
    select * from {{ current_incidents }}
    {% if is_incremental() %}
        -- the incidents the intermediate model recomputed in this run's month window
        where {{ id_in_month_window(ref('stg_security__incidents'), 'incident_id', 'received_at') }}
    {% endif %}
),

final as (
    select
        {{ columns_of(current_incidents, except=['source_file', 'source_row', 'delivered_at']) }},
        delivered_at as state_delivered_at
    from incidents
)

select * from final
