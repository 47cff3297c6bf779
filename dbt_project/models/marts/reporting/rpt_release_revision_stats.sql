-- rpt_release_revision_stats.sql: the ONS revision measures per statistics indicator (marts.indicator_revision_stats,
-- over the annual keys delivered more than once: first and latest delivered value), with the indicator's Chinese
-- name and the measures as text: the mean revision signed (a bias of first estimates) and the mean absolute
-- revision, in 万元 for money and in the indicator's own unit otherwise, and both relative to the first value in %.
with stats as (select * from {{ ref('indicator_revision_stats') }}),

indicators as (select * from {{ ref('indicators') }}),

final as (
    select
        stats.indicator_code,
        indicators.name_zh as indicator_name,
        stats.unit,
        stats.keys_compared,
        stats.keys_revised,
        stats.mean_revision,
        stats.mean_absolute_revision,
        stats.mean_revision_ratio,
        stats.mean_absolute_revision_ratio,
        case when stats.mean_revision > 0 then '+' else '' end
        || case stats.unit
            when 'yuan' then format('{:,.2f} 万元', stats.mean_revision / 1e4)
            when 'persons' then format('{:,.1f} 人', stats.mean_revision)
            else format('{:,.1f}', stats.mean_revision)
        end as mean_revision_text,
        case stats.unit
            when 'yuan' then format('{:,.2f} 万元', stats.mean_absolute_revision / 1e4)
            when 'persons' then format('{:,.1f} 人', stats.mean_absolute_revision)
            else format('{:,.1f}', stats.mean_absolute_revision)
        end as mean_absolute_revision_text,
        format('{:+.2f}%', stats.mean_revision_ratio * 100) as mean_revision_ratio_text,
        format('{:.2f}%', stats.mean_absolute_revision_ratio * 100) as mean_absolute_revision_ratio_text
    from stats
    left join indicators on stats.indicator_code = indicators.code
)

select * from final
