{#-
    first_row_per_key(name, relation, key, columns, condition, order_by, count_as=none): two CTEs,
    `<name>_repeated` and `<name>`. `<name>` holds, for each `key` among the rows of `relation` that meet
    `condition`, the row that comes first in `order_by`, as the (expression, alias) pairs of `columns` after the
    key; with `count_as`, also the number of such rows of the key under that name.

    Almost every key has one such row: those rows pass straight through, and only the rows of a key that repeats
    are sorted (a window over every row of a city's 36 M events sorted them all: benchmarks/CHANGELOG.md, seventh
    round). Same rows as `row_number() over (partition by key order by ...) = 1` over every row.
-#}
{% macro first_row_per_key(name, relation, key, columns, condition, order_by, count_as=none) -%}
{{ name }}_repeated as (
    select {{ key }}
    from {{ relation }}
    where {{ condition }}
    group by {{ key }}
    having count(*) > 1
),

{{ name }} as (
    select
        {{ key }},
        {%- for expression, alias in columns %}
        {{ expression }}{{ ' as ' ~ alias if alias != expression }}{{ ',' if not loop.last or count_as }}
        {%- endfor %}
        {%- if count_as %}
        cast(1 as {{ dbt.type_bigint() }}) as {{ count_as }}
        {%- endif %}
    from {{ relation }} as candidate
    where
        {{ condition }}
        and not exists (
            select 1 from {{ name }}_repeated as repeated
            where repeated.{{ key }} = candidate.{{ key }}
        )
    union all
    select
        {{ key }},
        {%- for expression, alias in columns %}
        {{ alias }}{{ ',' if not loop.last or count_as }}
        {%- endfor %}
        {%- if count_as %}
        {{ count_as }}
        {%- endif %}
    from (
        select
            {{ key }},
            {%- for expression, alias in columns %}
            {{ expression }}{{ ' as ' ~ alias if alias != expression }},
            {%- endfor %}
            {%- if count_as %}
            cast(count(*) over (partition by {{ key }}) as {{ dbt.type_bigint() }}) as {{ count_as }},
            {%- endif %}
            row_number() over (partition by {{ key }} order by {{ order_by }}) as row_rank
        from {{ relation }} as candidate
        where
            {{ condition }}
            and exists (
                select 1 from {{ name }}_repeated as repeated
                where repeated.{{ key }} = candidate.{{ key }}
            )
    ) as ranked
    where row_rank = 1
)
{%- endmacro %}
