{#-
    at_least: every value of the column is at least min_value (nulls are not_null's to judge).
    Usage (dbt 1.11):
      data_tests:
        - at_least:
            arguments:
              min_value: 2
-#}
{% test at_least(model, column_name, min_value) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }}

{% endtest %}
