-- A withheld cell (conf_status A, O, D) reaches the dashboards as withheld, never as a number: no value, no change
-- from the year before, its Chinese reason as the value's text, and in the labels the bar charts put on their axis
-- (docs/superset.md, "Withheld cells"). A free cell carries no reason.
-- It reads two views: Dagster attaches it to rpt_indicator_values (the dbt meta below) as an asset check.
{{ config(enabled=target.type == 'duckdb', meta={'dagster': {'ref': {'name': 'rpt_indicator_values'}}}) }}

with shown as (select * from {{ ref('rpt_indicator_values') }}),

street as (select * from {{ ref('rpt_street_indicator_values') }}),

wrong as (
    select
        indicator_code,
        region_code,
        period,
        dimension,
        member
    from shown
    where
        (
            is_withheld and (
                value is not null or change_pp_from_prior_year is not null or withheld_reason is null
                or value_text != withheld_reason or not contains(member_label, withheld_reason)
                or not contains(region_label, withheld_reason) or not withheld_reason like '保密：%'
            )
        )
        or (not is_withheld and (withheld_reason is not null or member_label != member_name))
    union all
    select
        indicator_code,
        region_code,
        period,
        dimension,
        member
    from street
    where is_withheld and not contains(street_label, withheld_reason)
)

select * from wrong
