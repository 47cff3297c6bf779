-- rpt_data_quality_checks.sql: the quality gate's results (marts.data_quality), one row per run, table and
-- expectation, with the run's start, Chinese severity and result names, and is_latest marking each table's and
-- expectation's most recent result. The sample column (offending values) is left out.
-- marts.data_quality is written by the quality gate after dbt (pipelines/quality/history.py `write_history`), not by
-- a model. A view needs its table at creation: on a first build the pre-hook makes an empty one with the gate's
-- columns, which the gate replaces before publishing. The view reads whatever the gate wrote last.
{{ config(pre_hook="
    create schema if not exists marts;
    create table if not exists marts.data_quality (
        run_id varchar, checked_at timestamp, table_name varchar, expectation varchar, severity varchar,
        passed boolean, unexpected_count bigint, sample varchar, element_count bigint, expectation_type varchar,
        check_name varchar, error varchar
    )
") }}

with checks as (select * exclude (sample) from marts.data_quality),

severity_names as (
    {{ labels_of('check_severity') }}
),

ranked as (
    select
        *,
        min(checked_at) over (partition by run_id) as run_at,
        row_number() over (partition by check_name, table_name, expectation order by checked_at desc) as recency
    from checks
),

final as (
    select
        ranked.run_id,
        ranked.run_at,
        strftime(ranked.run_at, '%Y-%m-%d %H:%M') as run_label,
        strftime(ranked.run_at, '%Y') as run_year,
        ranked.checked_at,
        ranked.check_name,
        ranked.table_name,
        ranked.expectation,
        ranked.expectation_type,
        ranked.severity,
        coalesce(severity_names.name_zh, ranked.severity) as severity_name,
        ranked.passed,
        case when ranked.passed then '通过' when ranked.error is not null then '无法执行' else '未通过' end as result_name,
        ranked.recency = 1 as is_latest,
        ranked.unexpected_count,
        ranked.element_count,
        ranked.error
    from ranked
    left join severity_names on ranked.severity = severity_names.code
)

select * from final
