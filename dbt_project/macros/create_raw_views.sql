-- The raw layer is append-only Parquet written by the ingestion; each raw table is exposed as a view
-- raw.<table> over its folder. Adapter-dispatched so another engine can read the same files its own way.
{% macro create_raw_views() %}
    {{ return(adapter.dispatch('create_raw_views', 'innostat')()) }}
{% endmacro %}

{% macro default__create_raw_views() %}
    {%- set raw_dir = env_var('INNOSTAT_RAW_DIR', '../warehouse/innostat.duckdb.state/raw') -%}
    create schema if not exists raw;
    {% for table in var('raw_tables') -%}
        create or replace view raw.{{ table }} as
        select * from read_parquet('{{ raw_dir }}/{{ table }}/*.parquet');
    {% endfor %}
{% endmacro %}
