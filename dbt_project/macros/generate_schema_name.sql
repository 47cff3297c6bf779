-- Models land in the schema their folder names (marts, staging, …), not "<target>_marts":
-- the published schema is part of the contract.
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
