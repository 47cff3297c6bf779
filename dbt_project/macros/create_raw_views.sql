-- The raw layer is append-only Parquet written by the ingestion; each raw table is exposed as a view
-- raw.<table> over its folder. The tables are those of the raw source (_staging__sources.yml, the one declaration
-- of the raw layer, which pipelines/lib/feeds.py also reads). Adapter-dispatched so another engine can read the
-- same files its own way.
{% macro create_raw_views() %}
    {{ return(adapter.dispatch('create_raw_views', 'innostat')()) }}
{% endmacro %}

{#- The tables of the raw source, in declaration order (the graph is only complete at execution time). -#}
{% macro raw_source_tables() %}
    {%- set tables = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
            {%- do tables.append(node.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(tables) }}
{% endmacro %}

{% macro default__create_raw_views() %}
    {%- set raw_dir = env_var('INNOSTAT_RAW_DIR', '../warehouse/innostat.duckdb.state/raw') -%}
    create schema if not exists raw;
    {% for table in raw_source_tables() -%}
        create or replace view raw.{{ table }} as
        select * from read_parquet('{{ raw_dir }}/{{ table }}/*.parquet');
    {% endfor %}
{% endmacro %}

{#-
    Spark: one external table raw.<table> per raw folder (dropping it later never deletes a file). The columns
    come from the raw source's declared types (_staging__sources.yml), not from inference: Spark skips files
    whose name starts with `_`, so a folder holding only the zero-row `_empty.parquet` has nothing to infer from,
    while with a declared schema it is simply an empty table. Each statement runs on its own (Spark SQL takes
    one statement per call); the hook itself renders nothing.
-#}
{% macro spark__create_raw_views() %}
    {%- if execute -%}
        {%- set raw_dir = env_var('INNOSTAT_RAW_DIR', '../warehouse/innostat.duckdb.state/raw') -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for table in raw_source_tables() -%}
            {%- do run_query('drop table if exists raw.' ~ table) -%}
            {%- do run_query(
                'create table raw.' ~ table ~ ' (' ~ spark_raw_columns(table) ~ ') using parquet'
                ~ " location '" ~ raw_dir ~ '/' ~ table ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

{#- The declared columns of source('raw', table) as a Spark column list; DuckDB type names mapped to Spark's. -#}
{% macro spark_raw_columns(table) %}
    {%- set spark_types = {'varchar': 'string', 'timestamp': 'timestamp_ntz'} -%}
    {%- set columns = [] -%}
    {%- for node in graph.sources.values()
        if node.source_name == 'raw' and node.name == table -%}
        {%- for column in node.columns.values() -%}
            {%- set declared = column.data_type | lower -%}
            {%- do columns.append('`' ~ column.name ~ '` ' ~ spark_types.get(declared, declared)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error("source('raw', '" ~ table ~ "') declares no columns: Spark needs them") }}
    {%- endif -%}
    {{ return(columns | join(', ')) }}
{% endmacro %}
