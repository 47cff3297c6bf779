-- Data tests of incremental models judge only the rows the run rebuilt.
--
-- A test configured with `meta: {rebuilt_rows: {at: <column>}}` reads, when the run has a month window
-- (INNOSTAT_MIN_MONTH / INNOSTAT_MAX_MONTH, see month_window.sql), only the rows whose `at` lies in the window;
-- with `key: <column>` also, the rows sharing that key with one of them. Without a window (a first build, dbt
-- by hand), with --full-refresh, and on Spark (where every build is a full build: spark_full_builds.sql) the
-- test reads the whole table.
--
-- Why it is enough: an incremental model with delete+insert rewrites exactly the window's rows (its unique_key
-- is the month, or the key of the window's rows); every other row is as the run that wrote it left it, and that
-- run's tests passed (a failed test blocks the publish). A duplicate therefore involves a rebuilt row. A city's
-- daily run spent 16 s of its uniqueness tests re-reading four years of rows (docs/quality.md). The same holds for
-- the views over the raw layer (int_gov_service_events_deduplicated, int_security_camera_days): raw files are only
-- ever added, a new file's rows lie in the run's window, and the small `…_repeated` tables they read are rebuilt
-- for that window; at city size their whole-view tests added 2 s to a daily run.
--
-- This overrides dbt's own get_where_subquery, which every generic test calls on its model; a `where` config
-- still applies on top.
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set scope = (config.get('meta') or {}).get('rebuilt_rows') -%}
    {%- set rebuilt_in_place = execute and not flags.FULL_REFRESH and target.type != 'spark' -%}
    {%- if scope and rebuilt_in_place and month_window_is_set() -%}
        {%- if scope.get('key') -%}
            {%- set rebuilt = id_in_month_window(relation, scope['key'], scope['at']) -%}
        {%- else -%}
            {%- set rebuilt = in_month_window(scope['at']) -%}
        {%- endif -%}
        {%- set where = rebuilt ~ (' and (' ~ where ~ ')' if where else '') -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
