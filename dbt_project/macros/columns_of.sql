{#-
    columns_of(relation, except=[], replace={}): the columns of a built relation as a select list, in the
    relation's order, without the columns named in `except`, and with `replace` giving the expression of a named
    column (written `<expression> as <column>` in its place). DuckDB's `* exclude (…)` / `* replace (…)`, which
    Spark SQL lacks: the columns are read from the relation itself (adapter.get_columns_in_relation), on both
    engines, so a model that passes a relation's columns through names only what it drops or changes, and never
    retypes the rest (the house style: docs/dbt_style.md).

    Use it only on the relation the query reads (`select {{ columns_of(ref('x'), except=[...]) }} from {{ ref('x') }}`
    or a CTE that is `select *` of it): dbt builds a model's parents before it compiles the model, so the columns
    are there. Before execution (parse), or where the relation does not exist yet (sqlfluff's lint on an empty
    in-memory build), it renders `*`: the query reads that relation, so it could not run there anyway.
-#}
{% macro columns_of(relation, except=[], replace={}) %}
    {%- if not execute -%}
        {{ return('*') }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) -%}
    {%- if not columns -%}
        {{ return('*') }}
    {%- endif -%}
    {%- set names = columns | map(attribute='name') | map('lower') | list -%}
    {%- set unknown = (except | list + replace.keys() | list) | reject('in', names) | list -%}
    {%- if unknown -%}
        {{ exceptions.raise_compiler_error(
            'columns_of(' ~ relation ~ ') names columns the relation does not have: ' ~ unknown | join(', ')
        ) }}
    {%- endif -%}
    {%- set selected = [] -%}
    {%- for name in names if name not in except -%}
        {%- do selected.append(replace[name] ~ ' as ' ~ name if name in replace else name) -%}
    {%- endfor -%}
    {{ return(selected | join(',\n        ')) }}
{% endmacro %}
