-- rpt_releases.sql: the release log (marts.releases, written by the publish step): one row per release with its
-- Chinese label, publication time and day, counts of values added, revised and removed against the release before,
-- the release note (发布说明), and is_latest marking the current release.
with releases as (select * from {{ source('publish', 'releases') }}),

final as (
    select
        release_id,
        '第' || release_id || '次发布' as release_name,
        published_at,
        strftime(published_at, '%Y-%m-%d %H:%M') as published_label,
        strftime(published_at, '%Y') as year,  -- noqa: RF04
        values_added,
        values_revised,
        values_removed,
        -- the publish step's note may write a number's base unit in English (pipelines/publish/releases.py
        -- `_number`: "199 persons"); the dashboard reads Chinese
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(
                        regexp_replace(
                            regexp_replace(
                                regexp_replace(note_zh, ' yuan\b', ' 元', 'g'),
                                ' persons\b', ' 人', 'g'
                            ),
                            ' count\b', ' 个', 'g'
                        ),
                        ' ratio\b', '', 'g'
                    ),
                    ' days\b', ' 天', 'g'
                ),
                ' minutes\b', ' 分钟', 'g'
            ),
            ' per_10k\b', ' /万人', 'g'
        ) as note_zh,
        release_id = max(release_id) over () as is_latest
    from releases
)

select * from final
