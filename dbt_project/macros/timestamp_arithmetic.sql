{#-
    Exact timestamp arithmetic on both engines. dbt's cross-database datediff/dateadd are right on DuckDB (and
    are what DuckDB keeps using), but dbt-spark builds them on whole unix seconds: its microsecond datediff
    parses the fraction out of the timestamp text (null or an error when there is none), and its hour dateadd
    drops the fraction. Spark 3.3+ has exact timestampdiff/timestampadd.
-#}

{#- microseconds_between(start, end): end - start in whole microseconds (null when either is null). -#}
{% macro microseconds_between(start, end) -%}
    {{ return(adapter.dispatch('microseconds_between', 'innostat')(start, end)) }}
{%- endmacro %}

{% macro default__microseconds_between(start, end) -%}
    {{ dbt.datediff(start, end, 'microsecond') }}
{%- endmacro %}

{% macro spark__microseconds_between(start, end) -%}
    timestampdiff(microsecond, {{ start }}, {{ end }})
{%- endmacro %}

{#- add_hours(hours, ts): ts plus a whole number of hours (an expression). -#}
{% macro add_hours(hours, ts) -%}
    {{ return(adapter.dispatch('add_hours', 'innostat')(hours, ts)) }}
{%- endmacro %}

{% macro default__add_hours(hours, ts) -%}
    {{ dbt.dateadd('hour', hours, ts) }}
{%- endmacro %}

{% macro spark__add_hours(hours, ts) -%}
    timestampadd(hour, {{ hours }}, {{ ts }})
{%- endmacro %}
