{#-
    dbt-duckdb's delete+insert (dbt/include/duckdb/macros/materializations/incremental_strategy/delete_insert.sql,
    dbt-duckdb 1.11), with one addition for a single-column unique_key: the rows to delete are also held between
    the lowest and highest key of the run's new rows. Implied by `in`, so the same rows are deleted, but DuckDB
    compares the range with each table segment's min and max and skips the segments outside it. Where keys grow
    with time (the generator's event and case ids do), a city's daily run deleted its 0.77 M rebuilt events from
    36 M in 0.7 s this way 0.1 s (benchmarks/RESULTS.md, eighth round).
    The project's macro wins over the adapter's: dbt looks in the root project first for the `dbt` namespace.
-#}
{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}

    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}

    {% if unique_key %}
        {% if unique_key is sequence and unique_key is not string %}
            delete from {{ target }} as DBT_INCREMENTAL_TARGET
            using {{ source }}
            where (
                {% for key in unique_key %}
                    {{ source }}.{{ key }} = DBT_INCREMENTAL_TARGET.{{ key }}
                    {{ "and " if not loop.last }}
                {% endfor %}
                {% if incremental_predicates %}
                    {% for predicate in incremental_predicates %}
                        and {{ predicate }}
                    {% endfor %}
                {% endif %}
            );
        {% else %}
            delete from {{ target }}
            where (
                {{ unique_key }}) in (
                select ({{ unique_key }})
                from {{ source }}
            )
            and {{ unique_key }} >= (select min({{ unique_key }}) from {{ source }})
            and {{ unique_key }} <= (select max({{ unique_key }}) from {{ source }})
            {%- if incremental_predicates %}
                {% for predicate in incremental_predicates %}
                    and {{ predicate }}
                {% endfor %}
            {%- endif -%};

        {% endif %}
    {% endif %}

    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )

{%- endmacro %}
