-- The month window of an incremental run. Dagster passes the partition range as
-- --vars '{"min_month": "2021-01", "max_month": "2021-06"}' (Asia/Shanghai months); without vars every month
-- is in the window. Written as a timestamp range on the raw column so Parquet row groups can be skipped.
{% macro in_month_window(timestamp_column) %}
    {%- set min_month = var('min_month', none) -%}
    {%- set max_month = var('max_month', none) -%}
    {%- if min_month is none and max_month is none -%}
        (1 = 1)
    {%- else -%}
        {%- set first = (min_month or '1900-01') ~ '-01' -%}
        {%- set last_year, last_month = (max_month or '2999-12').split('-') | map('int') | list -%}
        {%- set after = (last_year + 1) ~ '-01-01' if last_month == 12 else last_year ~ '-' ~ '%02d' % (last_month + 1) ~ '-01' -%}
        ({{ timestamp_column }} >= cast('{{ first }}' as timestamp)
        and {{ timestamp_column }} < cast('{{ after }}' as timestamp))
    {%- endif -%}
{% endmacro %}

