{#-
    unique_combination_of_columns: no two rows share the values of combination_of_columns (a composite key).
    Usage (dbt 1.11):
      data_tests:
        - unique_combination_of_columns:
            arguments:
              combination_of_columns: [region_code, indicator_code, period]
    Nulls compare equal here (group by semantics), so a null in a key column still counts as a value.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as duplicate_rows
from {{ model }}
group by
    {{ combination_of_columns | join(',\n    ') }}
having count(*) > 1

{% endtest %}
