{#-
    month_key(ts): the 'YYYY-MM' month bucket of a timestamp.
    Raw timestamps are naive Asia/Shanghai wall-clock, so the bucket is plain formatting.
-#}
{% macro month_key(ts) -%}
    {{ return(adapter.dispatch('month_key', 'innostat')(ts)) }}
{%- endmacro %}

{% macro default__month_key(ts) -%}
    strftime({{ ts }}, '%Y-%m')
{%- endmacro %}

{% macro duckdb__month_key(ts) -%}
    strftime({{ ts }}, '%Y-%m')
{%- endmacro %}

{% macro spark__month_key(ts) -%}
    date_format({{ ts }}, 'yyyy-MM')
{%- endmacro %}
