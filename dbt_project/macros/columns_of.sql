{#-
    columns_of(relation, except=[]): the columns of a built relation as a select list, in the relation's order,
    without the columns named in `except`. DuckDB's `* exclude (…)`, which Spark SQL lacks: the columns are read
    from the relation itself (adapter.get_columns_in_relation), on both engines, so a model that passes a
    relation's columns on names only what it drops, and never retypes the rest (the house style:
    docs/dbt_style.md).

    Use it only on the relation the query reads (`select {{ columns_of(ref('x'), except=[...]) }} from {{ ref('x') }}`
    or a CTE that is `select *` of it): dbt builds a model's parents before it compiles the model, so the columns
    are there. Before execution (parse), or where the relation does not exist yet (sqlfluff's lint on an empty
    in-memory build), it renders `*`: the query reads that relation, so it could not run there anyway.
    A unit test's `given` inputs are CTEs whose columns cannot be looked up (dbt's unit-test context has no graph
    either): a model with a unit test names its columns, once, in a Jinja list (int_security_camera_days).
-#}
{% macro columns_of(relation, except=[]) %}
    {%- if not execute -%}
        {{ return('*') }}
    {%- endif -%}
    {%- if (relation.identifier or '').startswith('__dbt__cte__') -%}
        {{ exceptions.raise_compiler_error(
            "columns_of(" ~ relation ~ "): a unit test's fixture has no columns to look up; a model with a unit "
            ~ "test names its columns (a Jinja list, set once in the model)"
        ) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) -%}
    {%- if not columns -%}
        {{ return('*') }}
    {%- endif -%}
    {%- set names = columns | map(attribute='name') | map('lower') | list -%}
    {%- set unknown = except | reject('in', names) | list -%}
    {%- if unknown -%}
        {{ exceptions.raise_compiler_error(
            'columns_of(' ~ relation ~ ') names columns the relation does not have: ' ~ unknown | join(', ')
        ) }}
    {%- endif -%}
    {{ return(names | reject('in', except) | join(',\n        ')) }}
{% endmacro %}

