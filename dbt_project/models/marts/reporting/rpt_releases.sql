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
        note_zh,  -- the publish step writes it in Chinese (pipelines/publish/releases.py)
        release_id = max(release_id) over () as is_latest
    from releases
)

select * from final
