-- True for a real number: not NaN and not ±infinity. Engines spell this differently.
{% macro is_finite(expression) %}
    {{ return(adapter.dispatch('is_finite', 'innostat')(expression)) }}
{% endmacro %}

{% macro default__is_finite(expression) %}
    isfinite({{ expression }})
{% endmacro %}

{% macro spark__is_finite(expression) %}
    (not isnan({{ expression }}) and abs({{ expression }}) != double('infinity'))
{% endmacro %}
