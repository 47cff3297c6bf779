{#-
    How dashboards write a value of a unit (models/marts/reporting): money in 亿元, ratios in %, counts whole.
    The published marts keep base units (yuan, ratio 0–1, count); only the reporting views convert.
-#}
{% macro display_value(value, unit) -%}
    case {{ unit }}
        when 'yuan' then {{ value }} / 1e8
        when 'ratio' then {{ value }} * 100
        else {{ value }}
    end
{%- endmacro %}

{#- the text of a table cell: counts whole (92 家, 56,900 人), money and ratios with two decimals, every unit in Chinese;
    null stays null -#}
{% macro display_text(value, unit) -%}
    case {{ unit }}
        when 'yuan' then format('{:,.2f} 亿元', {{ value }} / 1e8)
        when 'ratio' then format('{:.2f}%', {{ value }} * 100)
        when 'count' then format('{:,.0f} 家', {{ value }})
        when 'persons' then format('{:,.0f} 人', {{ value }})
        when 'days' then format('{:,.1f} 天', {{ value }})
        when 'minutes' then format('{:,.1f} 分钟', {{ value }})
        when 'per_10k' then format('{:,.2f} /万人', {{ value }})
        else format('{:,.2f} {}', {{ value }}, {{ unit }})
    end
{%- endmacro %}

{#- The Chinese names of one label set of the reporting_labels seed (feed, severity, incident_category …) -#}
{% macro labels_of(label_set) -%}
    select
        code,
        name_zh
    from {{ ref('reporting_labels') }}
    where label_set = '{{ label_set }}'
{%- endmacro %}

{#-
    A withheld cell (conf_status A, O, D: docs/indicators.md) as a label shows it: the name, then the period and the
    Chinese reason, so a bar chart's missing bar says why it is missing (先锋街道（2021年 保密：少于3家企业）).
    `reason` is the conf_status label of the reporting_labels seed (null for a free cell).
-#}
{% macro withheld_label(name, period, period_type, reason) -%}
    case
        when {{ reason }} is null then {{ name }}
        else {{ name }} || '（' || {{ period }} || case when {{ period_type }} = 'year' then '年' else '' end
            || ' ' || {{ reason }} || '）'
    end
{%- endmacro %}
