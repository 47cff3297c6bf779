-- The release bookkeeping of the publish step (pipelines/publish/releases.py, which holds the same DDL): created
-- here when missing, so the reporting views over them can be built from a first build on. They are no dbt models:
-- dbt never drops or replaces them (also not with --full-refresh), and the publish step fills them. DuckDB only
-- (Spark builds no published file).
{% macro create_release_tables() %}
    {%- if target.type == 'duckdb' -%}
        create schema if not exists marts;
        create table if not exists marts.releases (
            release_id integer primary key,
            published_at timestamp not null,
            values_added bigint not null,
            values_revised bigint not null,
            values_removed bigint not null,
            note_zh varchar not null
        );
        create table if not exists marts.indicator_value_history (
            indicator_code varchar not null,
            region_code varchar not null,
            period varchar not null,
            period_type varchar,
            dimension varchar not null,
            member varchar,
            value double,
            unit varchar,
            conf_status varchar,
            valid_from integer not null,
            valid_to integer
        );
    {%- endif -%}
{% endmacro %}
