{#-
    DuckDB: a model configured with `meta: {column_compression: {column: method}}` has its table created from the
    columns of its query, those columns with that storage compression (`using compression`), then filled.
    Every other table is created as dbt-duckdb creates it.

    Why: DuckDB's string compression (DICT_FSST) spends most of a table write on values that never repeat, such
    as the case ids and the 64-hex-digit pseudonyms of int_gov_service_cases_assembled: a trade of file size for
    build time (benchmarks/CHANGELOG.md, tenth round). The columns that do repeat (department, channel) keep it.
    The methods are stored with the table, so an incremental run's delete+insert writes them the same way.
-#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {%- set compression = (config.get('meta') or {}).get('column_compression') or {} -%}
    {%- set contract = config.get('contract') -%}
    {%- if compression and not temporary and language == 'sql' and not (contract and contract.enforced)
        and not partitioned_by and not sorted_by -%}
        {%- set columns = get_column_schema_from_query(compiled_code) -%}
        {%- set unknown = compression.keys() | reject('in', columns | map(attribute='name') | list) | list -%}
        {%- if unknown -%}
            {{ exceptions.raise_compiler_error(
                'column_compression of ' ~ relation ~ ' names columns its query does not have: ' ~ unknown | join(', ')
            ) }}
        {%- endif -%}
        {{ config.get('sql_header') or '' }}
        create table {{ relation }} (
            {%- for column in columns %}
            {{ adapter.quote(column.name) }} {{ column.data_type }}
            {{- ' using compression ' ~ compression[column.name] if column.name in compression }}
            {{- ',' if not loop.last }}
            {%- endfor %}
        );
        insert into {{ relation }}
        select * from (
            {{ compiled_code }}
        ) as model_subq;
    {%- else -%}
        {{ dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by, sorted_by) }}
    {%- endif -%}
{%- endmacro %}
