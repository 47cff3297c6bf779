-- indicator_revision_stats.sql: the ONS revision measures per statistics indicator, over its annual keys
-- delivered more than once (indicator_revisions; a key whose later delivery repeats the first value is a
-- revision of zero, as ONS counts it): mean revision, mean absolute revision, and both relative to the first value.
with revisions as (select * from {{ ref('indicator_revisions') }}),

measured as (
    select
        indicator_code,
        max(unit) as unit,
        count(*) as keys_compared,
        count(case when is_revised then 1 end) as keys_revised,
        avg(revision) as mean_revision,
        avg(abs(revision)) as mean_absolute_revision,
        avg(revision_ratio) as mean_revision_ratio,
        avg(abs(revision_ratio)) as mean_absolute_revision_ratio
    from revisions
    group by indicator_code
)

select * from measured
