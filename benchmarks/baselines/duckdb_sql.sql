-- The DuckDB-SQL baseline (benchmarks/baselines/duckdb_sql.py runs it): the published indicators computed straight
-- from the landing files by one hand-written script, with no orchestration, checks, raw layer or quarantine table.
-- The feed contract's rules are applied where rows are read, so a row the pipeline quarantines does not count here.
-- Placeholders, substituted by the runner: @LANDING@ (the landing zone), @CONVERTED@ (the xlsx sheets and GB18030
-- CSVs of statistics/ and rd_filings/ as UTF-8 CSV, same mtime and relative path), @REGIONS@ (regions.csv), and
-- the disclosure parameters @MIN_CONTRIBUTORS@, @DOMINANCE_N@, @DOMINANCE_K_PERCENT@, @PROTECTION_PERCENT@.
-- Delivery order everywhere: file modification time, then path under the landing zone, then line (then sheet).
-- Result: table indicator_values (indicator_code, region_code, period, period_type, dimension, member, value, unit,
-- conf_status).

-- ------------------------------------------------------------------------------------------------ helpers

-- Surrounding spaces a spreadsheet cell may carry (the ingest parsers' SPACES), and the header's own set.
-- (Regular expressions: DuckDB's trim(s, characters) costs about a microsecond per character and row.)
-- (Printable ASCII at both ends, as nearly every cell: nothing to strip, and no regular expression to run.)
create temp macro strip_cell(s) as case
    when ascii(s) between 33 and 126 and ascii(right(s, 1)) between 33 and 126 then s
    else regexp_replace(s, '^[ \t\r\n\x{3000}\x{a0}]+|[ \t\r\n\x{3000}\x{a0}]+$', '', 'g')
end;
create temp macro clean_header(s) as replace(replace(
    regexp_replace(s, '^[ \t\x{3000}\x{feff}\x{a0}]+|[ \t\x{3000}\x{feff}\x{a0}]+$', '', 'g'), '（', '('), '）', ')');
create temp macro is_blank_cell(s) as regexp_full_match(s, '[ \t\x{3000}\x{feff}\x{a0}]*');
-- Python's str.strip(), which the JSON feeds' texts are stripped with (printable ASCII at both ends: nothing to do).
create temp macro py_strip(s) as case
    when ascii(s) between 33 and 126 and ascii(right(s, 1)) between 33 and 126 then s
    else regexp_replace(s,
        '^[\s\x{0b}\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+'
        || '|[\s\x{0b}\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+$',
        '', 'g')
end;
-- A decimal as the statistics office and enterprises type it: `1234.5` or `1,234.5`, optional minus.
create temp macro is_decimal_text(s) as
    regexp_full_match(s, '-?(?:[0-9]+(?:\.[0-9]+)?|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?)');
create temp macro decimal_value(s) as try_cast(replace(s, ',', '') as double);
-- The fields of one CSV record (no line breaks inside quotes in these feeds): quoted fields may hold commas.
create temp macro csv_fields(line) as list_transform(
    regexp_extract_all(line || ',', '("(?:[^"]|"")*"|[^,]*),', 1),
    lambda f: case when length(f) >= 2 and f[1] = '"' and f[-1] = '"' then replace(f[2:-2], '""', '"') else f end
);

-- The p-th of twelve positional CSV columns (the camera feed is read without trusting its header's order).
create temp macro pick12(p, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12) as case p
    when 1 then c1 when 2 then c2 when 3 then c3 when 4 then c4 when 5 then c5 when 6 then c6
    when 7 then c7 when 8 then c8 when 9 then c9 when 10 then c10 when 11 then c11 when 12 then c12
end;

-- JSON fields are read as JSON text, so their delivered type can be judged as the ingest parsers judge it:
-- absent (missing key or null), text, integer, number (12.0, 1e3) or other (true, arrays, objects).
create temp macro json_kind(j) as case
    when j is null then 'absent'
    when starts_with(j::varchar, '"') then 'text'
    when regexp_full_match(j::varchar, '-?[0-9]{1,18}') then 'integer'
    when try_cast(j::varchar as double) is not null then 'number'
    else 'other'
end;
create temp macro json_whole_number(j) as case
    when try_cast(j::varchar as double) = round(try_cast(j::varchar as double))
        and abs(try_cast(j::varchar as double)) < 9007199254740992
        then cast(try_cast(j::varchar as double) as bigint)
end;
-- An id: a text (stripped, empty = absent) or an integer (12.0 is 12); a fraction, boolean, array… offends.
create temp macro json_id(j, kind) as case kind
    when 'text' then nullif(py_strip(
        case when contains(j::varchar, '\') then j ->> '$' else (j::varchar)[2:-2] end), '')
    when 'integer' then j::varchar
    when 'number' then cast(json_whole_number(j) as varchar)
end;
create temp macro json_id_offends(j, kind) as kind = 'other' or (kind = 'number' and json_whole_number(j) is null);
-- An integer field (visits, promised_days, rating): 5 or 5.0; a text "5", a fraction or a boolean offends.
create temp macro json_int(j, kind) as case kind
    when 'integer' then cast(j::varchar as bigint)
    when 'number' then json_whole_number(j)
end;
create temp macro json_int_offends(j, kind) as kind in ('text', 'other') or (kind = 'number' and json_whole_number(j) is null);
-- Fast paths (most delivered values are plain): a JSON string without escapes and with printable ASCII at both
-- ends is text that needs no stripping; a canonical integer of up to 18 characters (it survives a round trip
-- through BIGINT) is the integer kind. Anything else goes through json_kind and the macros above.
create temp macro json_plain_text(t) as
    t[1] = '"' and length(t) > 2 and ascii(t[2]) between 33 and 126 and ascii(t[-2]) between 33 and 126
    and not contains(t, '\');
create temp macro json_plain_int(t) as length(t) <= 18 and try_cast(t as bigint)::varchar = t;
create temp macro fast_json_id(j) as case
    when j is null then null
    when json_plain_text(j::varchar) then replace(j::varchar, '"', '')  -- unescaped: no quote inside
    else json_id(j, json_kind(j))
end;
-- (CASE, not AND: a projection evaluates both sides of an AND on every row, CASE only the rows it picks.)
create temp macro fast_json_id_offends(j) as case
    when j is null or json_plain_text(j::varchar) then false
    else json_id_offends(j, json_kind(j))
end;
create temp macro fast_json_int(j) as case
    when j is null then null
    when json_plain_int(j::varchar) then cast(j::varchar as bigint)
    else json_int(j, json_kind(j))
end;
create temp macro fast_json_int_offends(j) as case
    when j is null or json_plain_int(j::varchar) then false
    else json_int_offends(j, json_kind(j))
end;
-- Timestamp fields are read as VARCHAR: a non-text value then arrives as its JSON text (5, true, {…}), which is
-- no ISO 8601 time either, so it offends just as in the ingest parser. Blank is absent.
create temp macro ts_text(v) as nullif(py_strip(v), '');
-- ISO 8601 → naive Asia/Shanghai wall clock (Z or an offset converted; without one it is Shanghai time already).
create temp macro iso_parse_full(s) as case when regexp_full_match(s,
        '[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?'
        || '(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?') then
    case
        when s[-1] = 'Z' then try_cast(left(s, length(s) - 1) as timestamp) + interval 8 hour
        when s[-6] in ('+', '-') and s[-3] = ':' then try_cast(left(s, length(s) - 6) as timestamp)
            + to_minutes(480 - (case s[-6] when '-' then -1 else 1 end) * (s[-5:-4]::int * 60 + s[-2:]::int))
        when s[-5] in ('+', '-') then try_cast(left(s, length(s) - 5) as timestamp)
            + to_minutes(480 - (case s[-5] when '-' then -1 else 1 end) * (s[-4:-3]::int * 60 + s[-2:]::int))
        else try_cast(s as timestamp)
    end
end;
-- The same, with a fast path for the two shapes the feeds send nearly always (…T08:51:46+08:00, …T00:58:11Z):
-- the offset arithmetic above costs more than the parse itself.
create temp macro iso_parse(s) as case
    when regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:Z|\+08:00)')
        then try_cast(left(s, 19) as timestamp) + case when strlen(s) = 20 then interval 8 hour else interval 0 hour end
    else iso_parse_full(s)
end;
-- A timestamp field offends when it is delivered but no ISO 8601 time.
create temp macro ts_offends(text, parsed) as text is not null and parsed is null;
create temp macro relative_path(filename, root) as filename[length(root) + 2:];

-- ------------------------------------------------------------------------------------------------ reference data

create temp table regions as
select region_code, length(region_code) = 12 as is_street from read_csv('@REGIONS@', all_varchar = true);

create temp table statistics_indicators (name_zh varchar, indicator_code varchar, unit_kind varchar);
insert into statistics_indicators values
    ('地区生产总值', 'GDP', 'money'), ('高新技术产业增加值', 'HT_VALUE_ADDED', 'money'),
    ('全社会研发经费支出', 'RD_EXPENDITURE', 'money'), ('常住人口', 'POPULATION', 'persons'),
    ('高新技术企业数', 'HT_ENTERPRISES', 'count'), ('发明专利拥有量', 'INVENTION_PATENTS', 'count'),
    ('技术合同成交额', 'TECH_CONTRACT_TURNOVER', 'money'), ('地方财政科技支出', 'FISCAL_ST_EXPENDITURE', 'money'),
    ('一般公共预算支出', 'FISCAL_EXPENDITURE', 'money'), ('输变电产业产值', 'OUTPUT_POWER_EQUIPMENT', 'money'),
    ('大数据产业营业收入', 'REVENUE_BIG_DATA', 'money'), ('金融商贸业增加值', 'VA_FINANCE_COMMERCE', 'money'),
    ('健康文旅产业营业收入', 'REVENUE_HEALTH_TOURISM', 'money');

create temp table statistics_units (unit_text varchar, unit_kind varchar, factor double, base_unit varchar);
insert into statistics_units values
    ('元', 'money', 1, 'yuan'), ('万元', 'money', 1e4, 'yuan'), ('亿元', 'money', 1e8, 'yuan'),
    ('人', 'persons', 1, 'persons'), ('万人', 'persons', 1e4, 'persons'),
    ('家', 'count', 1, 'count'), ('个', 'count', 1, 'count'), ('件', 'count', 1, 'count'),
    ('%', 'ratio', 0.01, 'ratio');  -- a unit of the contract, but it fits no statistics indicator

-- ------------------------------------------------------------------------------------------------ tabular feeds
-- statistics/ and rd_filings/: UTF-8 CSVs from the landing zone, the rest from the converted folder. Each piece
-- (a CSV file or one xlsx sheet) is split into records; its first record is the header, matched by name.

create temp table tabular_pieces as
with landed as (
    select
        relative_path(filename, '@LANDING@') as source_file,
        cast(null as varchar) as source_sheet,
        0 as sheet_index,
        last_modified as delivered_at,
        try(decode(content)) as body
    from read_blob(['@LANDING@/statistics/**', '@LANDING@/rd_filings/**'])
    where lower(filename) like '%.csv' and not regexp_matches(filename, '/\.[^/]*$')
),

converted as (
    select
        relative_path(filename, '@CONVERTED@') as converted_file,
        last_modified as delivered_at,
        content as body
    from read_text('@CONVERTED@/**')
),

pieces as (
    select source_file, source_sheet, sheet_index, delivered_at, body from landed where body is not null
    union all
    select
        coalesce(nullif(regexp_extract(converted_file, '^(.*)\.sheet[0-9]{3}\..*\.csv$', 1), ''), converted_file),
        regexp_extract(converted_file, '^.*\.sheet[0-9]{3}\.(.*)\.csv$', 1),
        coalesce(try_cast(regexp_extract(converted_file, '^.*\.sheet([0-9]{3})\..*\.csv$', 1) as integer), 0),
        delivered_at,
        body
    from converted
),

keyed as (
    select
        *,
        split_part(source_file, '/', 1) as feed,
        -- a file whose bytes were already delivered (any name) adds nothing: key on the content
        md5(string_agg(md5(body), ',' order by sheet_index) over (partition by source_file)) as content_key
    from (select *, nullif(source_sheet, '') as sheet from pieces)
)

select feed, source_file, sheet as source_sheet, sheet_index, delivered_at, body
from keyed
qualify source_file = first(source_file order by delivered_at, source_file) over (partition by feed, content_key);

create temp table tabular_records as
with lines as (
    select
        feed, source_file, source_sheet, sheet_index, delivered_at,
        unnest(string_split(body, chr(10))) as line,
        generate_subscripts(string_split(body, chr(10)), 1) as source_row
    from tabular_pieces
),

records as (
    select * exclude (line), csv_fields(rtrim(line, chr(13))) as fields from lines
),

headers as (
    select
        feed, source_file, source_sheet,
        len(fields) as width,
        list_transform(fields, lambda f: clean_header(f)) as names
    from records
    where source_row = 1
)

select
    r.feed, r.source_file, r.source_sheet, r.sheet_index, r.delivered_at, r.source_row,
    -- cells by the header's names (the last column of a name wins, as in the ingest reader); a ragged record
    -- (not well formed, so never valid) pairs only as many cells as both have: a map key may not be NULL
    map_from_entries(list_transform(list_zip(h.names, r.fields, true), lambda e: {'k': e[1], 'v': e[2]})) as cells,
    h.names,
    len(r.fields) = h.width as well_formed
from records as r
inner join headers as h
    on r.feed = h.feed and r.source_file = h.source_file and r.source_sheet is not distinct from h.source_sheet
where
    r.source_row > 1
    -- a blank record is not a row
    and list_bool_or(list_transform(r.fields, lambda f: trim(f, ' ' || chr(9) || chr(12288) || chr(65279) || chr(160)) <> ''));

-- ------------------------------------------------------------------------------------------------ statistics

create temp table statistics_valid as
with rows as (
    select
        source_file, source_sheet, source_row, delivered_at,
        strip_cell(cells['地区代码']) as region_code,
        strip_cell(cells['指标名称']) as name_text,
        strip_cell(cells['计量单位']) as unit_text,
        strip_cell(cells['统计期']) as period_text,
        strip_cell(cells['数值']) as value_text,
        coalesce(nullif(strip_cell(cells['数据状态']), ''), '快报') as status,
        well_formed
    from tabular_records
    where feed = 'statistics'
        -- a file whose header lacks a contract column is rejected whole
        and list_has_all(names, ['地区代码', '指标名称', '计量单位', '统计期', '数值', '数据状态'])
),

parsed as (
    select
        *,
        -- 指标名称: full-width parentheses made half-width, parenthesised parts such as （亿元） dropped
        strip_cell(regexp_replace(regexp_replace(regexp_replace(
            replace(replace(name_text, '（', '('), '）', ')'),
            '\([^()]*\)', '', 'g'), '\([^()]*\)', '', 'g'), '\([^()]*\)', '', 'g')) as base_name,
        -- 统计期: 2020 / 2020年 / 2020-03 / 2020年3月 / 2020年1-3月
        case
            when regexp_full_match(period_text, '[0-9]{4}年?') then period_text[1:4]
            when regexp_full_match(period_text, '[0-9]{4}-[0-9]{2}') then period_text[1:4] || period_text[6:7]
            when regexp_full_match(period_text, '[0-9]{4}年[0-9]{1,2}月')
                then period_text[1:4] || lpad(regexp_extract(period_text, '年([0-9]+)月', 1), 2, '0')
            when regexp_full_match(period_text, '[0-9]{4}年0?1-[0-9]{1,2}月')
                then period_text[1:4] || lpad(regexp_extract(period_text, '-([0-9]+)月', 1), 2, '0')
        end as period_digits
    from rows
),

checked as (
    select
        p.*,
        i.indicator_code,
        i.unit_kind as indicator_unit_kind,
        u.unit_kind,
        u.factor,
        u.base_unit,
        case
            when length(period_digits) = 4 and cast(period_digits as integer) between 1949 and 2100
                then period_digits
            when length(period_digits) = 6 and cast(period_digits[1:4] as integer) between 1949 and 2100
                and cast(period_digits[5:6] as integer) between 1 and 12
                then period_digits[1:4] || '-' || period_digits[5:6]
        end as period,
        value_text in ('', '-', '—', '…') as not_available
    from parsed as p
    left join statistics_indicators as i on p.base_name = i.name_zh
    left join statistics_units as u on p.unit_text = u.unit_text
)

select
    region_code, indicator_code, period,
    case when length(period) = 4 then 'year' else 'month' end as period_type,
    case when not not_available then decimal_value(value_text) * factor end as value,
    base_unit as unit,
    source_file, source_sheet, source_row, delivered_at
from checked
where
    well_formed
    and region_code in (select region_code from regions)
    and indicator_code is not null
    and unit_kind is not null and unit_kind <> 'ratio' and unit_kind = indicator_unit_kind
    and period is not null
    and (not_available or (is_decimal_text(value_text) and not (value_text[1] = '-' and regexp_matches(value_text, '[1-9]'))))
    and status in ('快报', '初步核实', '最终核实');

-- The current value of a key: its latest delivered non-missing value (a later "not available" keeps it).
create temp table statistics_current as
select region_code, indicator_code, period, period_type, value, unit
from statistics_valid
where value is not null
qualify row_number() over (
    partition by region_code, indicator_code, period
    order by delivered_at desc, source_file desc, source_row desc, source_sheet desc nulls last
) = 1;

-- ------------------------------------------------------------------------------------------------ rd_filings

create temp table rd_filings_valid as
with rows as (
    select
        source_file, source_sheet, sheet_index, source_row, delivered_at, well_formed,
        strip_cell(cells['填报编号']) as filing_id,
        strip_cell(cells['统一社会信用代码']) as credit_code,
        strip_cell(cells['所属街道代码']) as street_code,
        strip_cell(cells['所属产业']) as industry,
        strip_cell(cells['年度']) as year_text,
        strip_cell(cells['研发费用(万元)']) as rd_expense_text,
        strip_cell(cells['研发人员(人)']) as rd_personnel_text,
        strip_cell(cells['主营业务收入(万元)']) as revenue_text,
        strip_cell(cells['新产品销售收入(万元)']) as new_product_text,
        strip_cell(cells['发明专利申请(件)']) as applications_text,
        strip_cell(cells['发明专利授权(件)']) as granted_text,
        strip_cell(cells['高新技术企业证书编号']) as certificate,
        strip_cell(cells['填报时间']) as submitted_text
    from tabular_records
    where feed = 'rd_filings'
        and list_has_all(names, [
            '填报编号', '统一社会信用代码', '企业名称', '所属街道代码', '所属产业', '年度', '研发费用(万元)',
            '研发人员(人)', '主营业务收入(万元)', '新产品销售收入(万元)', '发明专利申请(件)', '发明专利授权(件)',
            '高新技术企业证书编号', '填报时间', '更正原填报编号'])
),

checked as (
    select
        *,
        -- GB 32100-2015 check character: weights 3^i mod 31 over the first 17 characters
        regexp_full_match(credit_code, '[0-9A-HJ-NPQRTUWXY]{18}')
        and credit_code[18] = substr('0123456789ABCDEFGHJKLMNPQRTUWXY', 1 + cast((31 - list_sum(list_transform(
            range(17),
            lambda i: (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', credit_code[i + 1]) - 1) * ((3 ** i)::bigint % 31)
        )) % 31) % 31 as bigint), 1) as credit_code_ok,
        case when regexp_full_match(year_text, '[0-9]{1,6}') then cast(year_text as integer) end as filing_year,
        case
            when regexp_full_match(submitted_text, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}')
                then try_strptime(submitted_text, '%Y-%m-%d %H:%M:%S')
            when regexp_full_match(submitted_text, '[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}')
                then try_strptime(submitted_text, '%Y/%m/%d %H:%M')
        end as submitted_at
    from rows
),

valid as (
    select *
    from checked
    where
        well_formed
        and filing_id <> ''
        and credit_code_ok
        and street_code in (select region_code from regions where is_street)
        and industry in ('输变电', '大数据', '金融商贸', '健康文旅', '其他')
        and filing_year between 2000 and extract(year from timezone('Asia/Shanghai', now()))
        -- money and counts: non-negative decimals; counts whole numbers
        and list_bool_and(list_transform(
            [rd_expense_text, revenue_text, new_product_text, rd_personnel_text, applications_text, granted_text],
            lambda t: is_decimal_text(t) and not (t[1] = '-' and regexp_matches(t, '[1-9]'))
        ))
        and list_bool_and(list_transform(
            [rd_personnel_text, applications_text, granted_text],
            lambda t: decimal_value(t) = round(decimal_value(t))
        ))
        and (certificate = '' or regexp_full_match(certificate, 'GR[0-9]{12}'))
        and submitted_at is not null
)

-- A 填报编号 counts once, as first delivered: a later copy is an exact re-delivery (skipped) or a conflict
-- (quarantined). Within a workbook the sheets come in workbook order.
select
    filing_id, credit_code, street_code, industry, filing_year, submitted_at,
    decimal_value(rd_expense_text) as rd_expense_wan_yuan,
    cast(decimal_value(rd_personnel_text) as bigint) as rd_personnel,
    decimal_value(revenue_text) as revenue_wan_yuan,
    certificate <> '' as has_ht_certificate,
    source_file, source_sheet, source_row, delivered_at
from valid
qualify row_number() over (
    partition by filing_id order by delivered_at, source_file, sheet_index, source_row
) = 1;

-- The current filing of an enterprise-year: the latest 填报时间, a tie going to the later delivered one.
create temp table rd_filings_current as
select *
from rd_filings_valid
qualify row_number() over (
    partition by credit_code, filing_year
    order by submitted_at desc, delivered_at desc, source_file desc, source_row desc, source_sheet desc nulls last
) = 1;

-- ------------------------------------------------------------------------------------------------ gov_services
-- Read by DuckDB's parallel JSON reader. A line that is no JSON object comes back as nulls and fails the
-- "missing event_id" rule. An identical re-delivered file needs no dedup here: its events are repeats, and the
-- first delivered copy of an event_id wins anyway.
-- Speed: the JSON checks take a cheap fast path that decides nearly every row (see the helpers); each line's
-- delivery order is one bigint (file rank, then line), so the dedups are hash aggregates (arg_min) rather than
-- sorting window functions.

create temp table gov_files as
select
    filename,
    -- delivery order of the files: modification time, then path
    row_number() over (order by last_modified, relative_path(filename, '@LANDING@')) as file_rank
from read_blob('@LANDING@/gov_services/**/*.jsonl*')
where regexp_matches(lower(filename), '\.jsonl(\.gz)?$') and not regexp_matches(filename, '/\.[^/]*$');

-- Every line, checked once and stored (a WHERE here would be pushed below the projection and compute it twice).
create temp table gov_lines as
with lines as (
    select
        -- a line's delivery order: its file's rank, then its place in the file (ordinality counts across the
        -- files in scan order, so within a file it orders the lines)
        (f.file_rank << 40) + d.ordinality as delivery_order,
        fast_json_id(d.event_id) as event_id,
        fast_json_id(d.case_id) as case_id,
        nullif(py_strip(d.event_type), '') as event_type,
        ts_text(d.occurred_at) as occurred_text,
        iso_parse(ts_text(d.occurred_at)) as occurred_at,
        nullif(py_strip(d.department), '') as department,
        nullif(py_strip(d.channel), '') as channel,
        nullif(py_strip(d.applicant_type), '') as applicant_type,
        fast_json_int(d.visits) as visits,
        fast_json_int(d.promised_days) as promised_days,
        fast_json_int(d.rating) as rating,
        fast_json_id_offends(d.event_id) or fast_json_id_offends(d.case_id)
        or fast_json_int_offends(d.visits) or fast_json_int_offends(d.promised_days)
        or fast_json_int_offends(d.rating) as offends_partly
    from read_json(
        '@LANDING@/gov_services/**/*.jsonl*',
        format = 'newline_delimited',
        columns = {
            event_id: 'JSON', case_id: 'JSON', event_type: 'VARCHAR', occurred_at: 'VARCHAR',
            department: 'VARCHAR', channel: 'VARCHAR', applicant_type: 'VARCHAR',
            visits: 'JSON', promised_days: 'JSON', rating: 'JSON'
        },
        ignore_errors = true,
        filename = true
    ) with ordinality as d
    inner join gov_files as f using (filename)
),

checked as (
    select
        *,
        not offends_partly and not ts_offends(occurred_text, occurred_at)
        and event_id is not null and case_id is not null and event_type is not null and occurred_at is not null
        and event_type in ('submitted', 'accepted', 'completed', 'rejected', 'rated')
        and (channel is null or channel in ('online', 'app', 'window', 'self_service'))
        and (applicant_type is null or applicant_type in ('person', 'enterprise'))
        and (visits is null or visits >= 0)
        and (promised_days is null or promised_days >= 1)
        and (rating is null or rating between 1 and 5) as valid
    from lines
)

select * exclude (occurred_text, applicant_type, offends_partly) from checked;

-- at-least-once delivery: the first delivered valid copy of an event_id counts (the window sorts only the key
-- and the order; the wide rows are then filtered by a hash anti-join on the few later copies).
create temp table gov_events as
select * exclude (valid)
from gov_lines
where valid and delivery_order not in (
    select delivery_order
    from gov_lines
    where valid
    qualify row_number() over (partition by event_id order by delivery_order) > 1
);

-- One row per case: department, channel and submission from the earliest `submitted`, acceptance (with
-- promised_days) the earliest `accepted`, completion (with visits) the earliest `completed`, the rating the
-- `rated` event with the latest occurred_at; ties go by delivery order.
create temp table gov_cases as
with picked as (
    select
        case_id,
        arg_min({department: department, channel: channel, occurred_at: occurred_at}, (occurred_at, delivery_order))
            filter (where event_type = 'submitted') as submitted,
        arg_min({occurred_at: occurred_at, promised_days: promised_days}, (occurred_at, delivery_order))
            filter (where event_type = 'accepted') as accepted,
        arg_min({occurred_at: occurred_at, visits: visits}, (occurred_at, delivery_order))
            filter (where event_type = 'completed') as completed,
        arg_max(rating, (occurred_at, delivery_order)) filter (where event_type = 'rated' and rating is not null)
            as rating
    from gov_events
    group by case_id
)

select
    case_id,
    submitted.department,
    submitted.channel,
    submitted.occurred_at as submitted_at,
    accepted.occurred_at as accepted_at,
    accepted.promised_days,
    completed.occurred_at as completed_at,
    completed.visits,
    rating
from picked
-- a case known only from ratings or rejections has no row
where submitted is not null or accepted is not null or completed is not null;

create temp table gov_values as
with members as (
    select *, 'total' as dimension, 'total' as member from gov_cases
    union all
    select *, 'department', department from gov_cases where department is not null
),

submitted as (
    select
        strftime(submitted_at, '%Y-%m') as period, dimension, member,
        count(*) as cases,
        count(*) filter (where channel in ('online', 'app')) as online
    from members
    where submitted_at is not null
    group by all
),

completed as (
    select
        strftime(completed_at, '%Y-%m') as period, dimension, member,
        count(*) as cases,
        count(*) filter (where visits <= 1) as one_visit,
        count(*) filter (where visits = 0) as zero_visit,
        count(*) filter (where accepted_at is not null and promised_days is not null) as deadline_known,
        count(*) filter (
            where accepted_at is not null and promised_days is not null
            and completed_at <= accepted_at + to_hours(promised_days * 24)
        ) as on_time,
        avg(date_diff('microsecond', accepted_at, completed_at) / 86400000000.0) as avg_days,
        count(*) filter (where rating is not null) as rated,
        count(*) filter (where rating >= 4) as satisfied
    from members
    where completed_at is not null
    group by all
)

select 'GS_CASES_SUBMITTED' as indicator_code, period, dimension, member, cases::double as value, 'count' as unit
from submitted
union all
select 'GS_ONLINE_SHARE', period, dimension, member, online / cases, 'ratio' from submitted
union all
select 'GS_CASES_COMPLETED', period, dimension, member, cases::double, 'count' from completed
union all
select 'GS_ONE_VISIT_RATE', period, dimension, member, one_visit / cases, 'ratio' from completed
union all
select 'GS_ZERO_VISIT_RATE', period, dimension, member, zero_visit / cases, 'ratio' from completed
union all
select 'GS_ON_TIME_RATE', period, dimension, member, on_time / nullif(deadline_known, 0), 'ratio' from completed
union all
select 'GS_AVG_PROCESSING_DAYS', period, dimension, member, avg_days, 'days' from completed
union all
select 'GS_SATISFACTION_RATE', period, dimension, member, satisfied / nullif(rated, 0), 'ratio' from completed;

-- ------------------------------------------------------------------------------------------------ security
-- Incidents and camera rows are "later delivered wins", so an identical re-delivered file (which the pipeline
-- skips) would wrongly win here: files are keyed by their bytes, hashed only where two files share a size.

create temp table security_files as
with files as (
    select filename, last_modified as delivered_at, size, relative_path(filename, '@LANDING@') as source_file
    from read_blob(['@LANDING@/security/incidents/**', '@LANDING@/security/cameras/**'])
    where not regexp_matches(filename, '/\.[^/]*$')
),

same_size as (
    select filename from files qualify count(*) over (partition by split_part(source_file, '/', 2), size) > 1
),

hashed as (
    select filename, md5(content) as content_hash
    from read_blob(['@LANDING@/security/incidents/**', '@LANDING@/security/cameras/**'])
    where filename in (select filename from same_size)
)

select files.*
from files
left join hashed using (filename)
qualify row_number() over (
    partition by split_part(source_file, '/', 2), coalesce(content_hash, filename) order by delivered_at, source_file
) = 1;

-- The current state of an incident: its later delivered valid record.
create temp table incidents_current as
with delivered as (
    select
        filename,
        ordinality as line_order,
        incident_id, json_kind(incident_id) as incident_id_kind,
        ts_text(received_at) as received_text,
        ts_text(dispatched_at) as dispatched_text,
        ts_text(arrived_at) as arrived_text,
        ts_text(closed_at) as closed_text,
        -- coordinates must be numbers (a text "26.88" offends)
        json_kind(lat) in ('text', 'other') or json_kind(lon) in ('text', 'other') as bad_coordinates,
        nullif(py_strip(category), '') as category,
        nullif(py_strip(street_code), '') as street_code,
        nullif(py_strip(source), '') as report_source
    from read_json(
        '@LANDING@/security/incidents/**/*.jsonl*',
        format = 'newline_delimited',
        columns = {
            incident_id: 'JSON', received_at: 'VARCHAR', dispatched_at: 'VARCHAR', arrived_at: 'VARCHAR',
            closed_at: 'VARCHAR',
            category: 'VARCHAR', street_code: 'VARCHAR', source: 'VARCHAR', lat: 'JSON', lon: 'JSON'
        },
        ignore_errors = true,
        filename = true
    ) with ordinality
    where regexp_matches(lower(filename), '\.jsonl(\.gz)?$')
),

records as (
    select
        filename, line_order, category, street_code, report_source,
        json_id(incident_id, incident_id_kind) as incident_id,
        iso_parse(received_text) as received_at,
        iso_parse(arrived_text) as arrived_at,
        json_id_offends(incident_id, incident_id_kind) or bad_coordinates
        or ts_offends(received_text, iso_parse(received_text))
        or ts_offends(dispatched_text, iso_parse(dispatched_text))
        or ts_offends(arrived_text, iso_parse(arrived_text))
        or ts_offends(closed_text, iso_parse(closed_text)) as offends
    from delivered
)

select
    r.incident_id, r.category, r.street_code,
    strftime(r.received_at, '%Y-%m') as received_month,
    date_diff('microsecond', r.received_at, r.arrived_at) / 60000000.0 as response_min
from records as r
inner join security_files as f using (filename)
where
    not r.offends
    and r.incident_id is not null and r.received_at is not null
    and r.category in ('theft', 'fraud', 'traffic', 'dispute', 'fire', 'violence', 'other')
    and r.report_source in ('call_110', 'app', 'camera', 'patrol')
    and r.street_code in (select region_code from regions where is_street)
qualify row_number() over (
    partition by r.incident_id order by f.delivered_at desc, f.source_file desc, r.line_order desc
) = 1;

-- Camera rows: the header is the first record of each file, matched by name; the later delivered row of a
-- camera-day wins. Every row is checked once and stored with its delivery order (file rank, then line) as one
-- bigint; the dedup below then sorts only the key and that order.
create temp table camera_lines as
with rows as materialized (
    select *, ordinality as line_order
    from read_csv(
        '@LANDING@/security/cameras/**/*.csv',
        header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', nullstr = chr(1),
        null_padding = true, filename = true,
        columns = {
            c1: 'VARCHAR', c2: 'VARCHAR', c3: 'VARCHAR', c4: 'VARCHAR', c5: 'VARCHAR', c6: 'VARCHAR',
            c7: 'VARCHAR', c8: 'VARCHAR', c9: 'VARCHAR', c10: 'VARCHAR', c11: 'VARCHAR', c12: 'VARCHAR'
        }
    ) with ordinality
),

headers as (
    select
        filename,
        header_line,
        list_filter(header, lambda c: c is not null) as header_cells,
        len(header_cells) as width,
        list_transform(header_cells, lambda h: clean_header(h)) as names,
        -- the last column of a name wins, as in the ingest reader
        len(names) + 1 - list_position(list_reverse(names), 'camera_id') as p_camera,
        len(names) + 1 - list_position(list_reverse(names), 'street_code') as p_street,
        len(names) + 1 - list_position(list_reverse(names), 'installed_on') as p_installed,
        len(names) + 1 - list_position(list_reverse(names), 'status_date') as p_status,
        len(names) + 1 - list_position(list_reverse(names), 'online') as p_online
    from (
        select
            filename,
            min(line_order) as header_line,
            arg_min([c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12], line_order) as header
        from rows
        group by filename
    )
    where list_has_all(names, ['camera_id', 'street_code', 'installed_on', 'status_date', 'online'])
),

files as (
    select filename, row_number() over (order by delivered_at, source_file) as file_rank
    from security_files
    where source_file like 'security/cameras/%'
),

typed as (
    select
        (f.file_rank << 40) + r.line_order as delivery_order,
        (r.c1 is not null)::int + (r.c2 is not null)::int + (r.c3 is not null)::int + (r.c4 is not null)::int
        + (r.c5 is not null)::int + (r.c6 is not null)::int + (r.c7 is not null)::int + (r.c8 is not null)::int
        + (r.c9 is not null)::int + (r.c10 is not null)::int + (r.c11 is not null)::int
        + (r.c12 is not null)::int = h.width as well_formed,
        strip_cell(pick12(h.p_camera, r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c7, r.c8, r.c9, r.c10, r.c11, r.c12))
            as camera_id,
        strip_cell(pick12(h.p_street, r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c7, r.c8, r.c9, r.c10, r.c11, r.c12))
            as street_code,
        strip_cell(pick12(h.p_installed, r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c7, r.c8, r.c9, r.c10, r.c11, r.c12))
            as installed_on,
        strip_cell(pick12(h.p_status, r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c7, r.c8, r.c9, r.c10, r.c11, r.c12))
            as status_text,
        strip_cell(pick12(h.p_online, r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c7, r.c8, r.c9, r.c10, r.c11, r.c12))
            as online
    from rows as r
    inner join headers as h on r.filename = h.filename
    inner join files as f on r.filename = f.filename
    where r.line_order > h.header_line
)

select
    delivery_order, camera_id, street_code, status_text, online = '1' as is_online,
    well_formed
    and camera_id <> ''
    and street_code in (select region_code from regions where is_street)
    and regexp_full_match(status_text, '[0-9]{4}-[0-9]{2}-[0-9]{2}') and try_cast(status_text as date) is not null
    and (installed_on = '' or (
        regexp_full_match(installed_on, '[0-9]{4}-[0-9]{2}-[0-9]{2}') and try_cast(installed_on as date) is not null))
    and online in ('0', '1') as valid
from typed;

create temp table camera_days as
select camera_id, street_code, is_online, strftime(cast(status_text as date), '%Y-%m') as status_month
from camera_lines
where valid and delivery_order not in (
    select delivery_order
    from camera_lines
    where valid
    qualify row_number() over (partition by camera_id, status_text order by delivery_order desc) > 1
);

create temp table security_values as
with incident_regions as (
    select received_month as period, street_code as region_code, response_min from incidents_current
    union all
    select received_month, '430406', response_min from incidents_current
),

incident_stats as (
    select
        period, region_code,
        count(*) as incidents,
        count(response_min) as arrived,
        count(*) filter (where response_min <= 15.0) as within_15min,
        median(response_min) as median_response_min
    from incident_regions
    group by all
),

population as (
    select region_code, period as year, value as population
    from statistics_current
    where indicator_code = 'POPULATION' and period_type = 'year' and value > 0
),

camera_regions as (
    select status_month as period, street_code as region_code, camera_id, is_online from camera_days
    union all
    select status_month, '430406', camera_id, is_online from camera_days
),

camera_stats as (
    select
        period, region_code,
        count(distinct camera_id) as cameras,
        count(*) as camera_days,
        count(*) filter (where is_online) as online_days
    from camera_regions
    group by all
)

select 'SEC_INCIDENTS' as indicator_code, region_code, period, 'total' as dimension, 'total' as member,
    incidents::double as value, 'count' as unit
from incident_stats
union all
select 'SEC_INCIDENTS', '430406', received_month, 'category', category, count(*)::double, 'count'
from incidents_current
group by all
union all
select 'SEC_INCIDENTS_PER_10K', s.region_code, s.period, 'total', 'total', s.incidents / (p.population / 10000.0), 'per_10k'
from incident_stats as s
inner join population as p on s.region_code = p.region_code and s.period[1:4] = p.year
union all
select 'SEC_MEDIAN_RESPONSE_MIN', region_code, period, 'total', 'total', median_response_min, 'minutes'
from incident_stats
union all
select 'SEC_RESPONSE_15MIN_RATE', region_code, period, 'total', 'total', within_15min / nullif(arrived, 0), 'ratio'
from incident_stats
union all
select 'SEC_CAMERAS', region_code, period, 'total', 'total', cameras::double, 'count' from camera_stats
union all
select 'SEC_CAMERA_ONLINE_RATE', region_code, period, 'total', 'total', online_days / camera_days, 'ratio'
from camera_stats;

-- ------------------------------------------------------------------------------------------------ disclosure control
-- PUBLISHING.md §1 and docs/indicators.md: the cells of ENT_RD_EXPENDITURE, ENT_RD_PERSONNEL and ENT_RD_INTENSITY
-- (district total, by street, by industry, per year) get a conf_status; a withheld cell is published with a NULL
-- value. Parameters: @MIN_CONTRIBUTORS@, @DOMINANCE_N@, @DOMINANCE_K_PERCENT@, @PROTECTION_PERCENT@ (the seed
-- disclosure_rules, substituted by the runner).

-- each current filing in its three cells: the district total, its street, its industry
create temp table rd_breakdowns as
select filing_year, '430406' as region_code, 'total' as dimension, 'total' as member, * from rd_filings_current
union all
select filing_year, street_code, 'total', 'total', * from rd_filings_current
union all
select filing_year, '430406', 'industry', industry, * from rd_filings_current;

-- primary: fewer than min_contributors → A; else the n largest contributions over k % of a non-zero sum → O
create temp table disclosure_primary as
with contributions as (
    select 'ENT_RD_EXPENDITURE' as indicator_code, filing_year, region_code, dimension, member,
        cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000 as contribution
    from rd_breakdowns
    union all
    select 'ENT_RD_PERSONNEL', filing_year, region_code, dimension, member, cast(rd_personnel as decimal(38, 6))
    from rd_breakdowns
    union all
    select 'ENT_RD_INTENSITY', filing_year, region_code, dimension, member,
        cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000
    from rd_breakdowns
    where revenue_wan_yuan > 0
),
ranked as (
    select *, row_number() over (
        partition by indicator_code, filing_year, region_code, dimension, member order by contribution desc
    ) as contribution_rank
    from contributions
),
cells as (
    select indicator_code, cast(filing_year as varchar) as period, region_code, dimension, member,
        count(*) as contributors,
        sum(contribution) as units,
        sum(contribution) filter (where contribution_rank <= @DOMINANCE_N@) as largest
    from ranked
    group by all
)
select indicator_code, period, region_code, dimension, member, units,
    case
        when contributors < @MIN_CONTRIBUTORS@ then 'A'
        when units > 0 and largest * 100 > cast(@DOMINANCE_K_PERCENT@ as decimal(9, 4)) * units then 'O'
        else 'F'
    end as conf_status
from cells;

-- secondary (D), per additive indicator and year, by visits that alternate between the street group (the cells of
-- dimension total: district total and streets) and the industry group (the district's cells: total and
-- industries) until two visits in a row change nothing. A group needs a cell when it holds exactly one withheld
-- cell, or a primary cell whose protection % exceeds the group's other withheld cells; it gets the smallest free
-- cell reaching protection % of that target, else its largest free cell (ties: region_code, member).
create temp table disclosure_secondary as
with recursive visits (step, quiet, indicator_code, period, region_code, dimension, member, units, conf_status) as (
    select 0, 0, indicator_code, period, region_code, dimension, member, units, conf_status
    from disclosure_primary
    where indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL')
    union all
    select step + 1,
        case when bool_or(is_chosen) over (partition by indicator_code, period) then 0 else quiet + 1 end,
        indicator_code, period, region_code, dimension, member, units,
        case when is_chosen then 'D' else conf_status end
    from (
        select *,
            is_free and target is not null and row_number() over (
                partition by indicator_code, period, is_free
                order by units * 100 < target * @PROTECTION_PERCENT@,
                    case when units * 100 >= target * @PROTECTION_PERCENT@ then units else -units end,
                    region_code, member
            ) = 1 as is_chosen
        from (
            select *,
                case
                    when withheld_cells = 1 then withheld_sum
                    else max(units) filter (
                        where in_group and conf_status in ('A', 'O')
                            and units * @PROTECTION_PERCENT@ > (withheld_sum - units) * 100
                    ) over (partition by indicator_code, period)
                end as target
            from (
                select *,
                    in_group and conf_status = 'F' as is_free,
                    count(*) filter (where in_group and conf_status <> 'F')
                        over (partition by indicator_code, period) as withheld_cells,
                    coalesce(sum(units) filter (where in_group and conf_status <> 'F')
                        over (partition by indicator_code, period), 0) as withheld_sum
                from (
                    select *,
                        case when step % 2 = 0 then dimension = 'total' else region_code = '430406' end as in_group
                    from visits
                    where quiet < 2
                )
            )
        )
    )
)
select indicator_code, period, region_code, dimension, member, conf_status
from visits
qualify step = max(step) over (partition by indicator_code, period);

-- intensity: its own primary code, and D wherever the expenditure of the same key is withheld
create temp table disclosure_status as
select indicator_code, period, region_code, dimension, member, conf_status from disclosure_secondary
union all
select i.indicator_code, i.period, i.region_code, i.dimension, i.member,
    case when i.conf_status = 'F' and e.conf_status <> 'F' then 'D' else i.conf_status end
from disclosure_primary as i
left join disclosure_secondary as e
    on e.indicator_code = 'ENT_RD_EXPENDITURE' and (e.period, e.region_code, e.dimension, e.member)
        = (i.period, i.region_code, i.dimension, i.member)
where i.indicator_code = 'ENT_RD_INTENSITY';

-- ------------------------------------------------------------------------------------------------ the indicators

create temp table indicator_values as
with annual as (
    select
        region_code, period,
        max(value) filter (where indicator_code = 'GDP') as gdp,
        max(value) filter (where indicator_code = 'RD_EXPENDITURE') as rd_expenditure,
        max(value) filter (where indicator_code = 'HT_VALUE_ADDED') as ht_value_added,
        max(value) filter (where indicator_code = 'INVENTION_PATENTS') as invention_patents,
        max(value) filter (where indicator_code = 'POPULATION') as population,
        max(value) filter (where indicator_code = 'FISCAL_ST_EXPENDITURE') as fiscal_st_expenditure,
        max(value) filter (where indicator_code = 'FISCAL_EXPENDITURE') as fiscal_expenditure
    from statistics_current
    where period_type = 'year'
    group by all
),

-- ENT_*: the district total, by street (region = street), and by industry at district level
filings as (select * from rd_breakdowns),

enterprise as (
    select
        cast(filing_year as varchar) as period, region_code, dimension, member,
        sum(cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000) as rd_expense_yuan,
        sum(rd_personnel) as rd_personnel,
        sum(cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000) filter (where revenue_wan_yuan > 0)
            as intensity_rd_expense_yuan,
        sum(cast(revenue_wan_yuan as decimal(38, 6)) * 10000) filter (where revenue_wan_yuan > 0)
            as intensity_revenue_yuan,
        count(distinct credit_code) filter (where has_ht_certificate) as certified
    from filings
    group by filing_year, region_code, dimension, member
),

stacked as (
    select indicator_code, region_code, period, period_type, 'total' as dimension, 'total' as member, value, unit
    from statistics_current
    union all
    select 'RD_INTENSITY', region_code, period, 'year', 'total', 'total', rd_expenditure / nullif(gdp, 0), 'ratio'
    from annual
    union all
    select 'HT_VA_SHARE', region_code, period, 'year', 'total', 'total', ht_value_added / nullif(gdp, 0), 'ratio'
    from annual
    union all
    select 'PATENTS_PER_10K', region_code, period, 'year', 'total', 'total',
        invention_patents / nullif(population / 10000.0, 0), 'per_10k'
    from annual
    union all
    select 'FISCAL_ST_SHARE', region_code, period, 'year', 'total', 'total',
        fiscal_st_expenditure / nullif(fiscal_expenditure, 0), 'ratio'
    from annual
    union all
    select 'ENT_RD_EXPENDITURE', region_code, period, 'year', dimension, member, rd_expense_yuan::double, 'yuan'
    from enterprise
    union all
    select 'ENT_RD_PERSONNEL', region_code, period, 'year', dimension, member, rd_personnel::double, 'persons'
    from enterprise
    union all
    select 'ENT_RD_INTENSITY', region_code, period, 'year', dimension, member,
        intensity_rd_expense_yuan::double / nullif(intensity_revenue_yuan::double, 0), 'ratio'
    from enterprise
    union all
    select 'ENT_HT_CERTIFIED', region_code, period, 'year', dimension, member, certified::double, 'count'
    from enterprise
    union all
    select indicator_code, '430406', period, 'month', dimension, member, value, unit from gov_values
    union all
    select indicator_code, region_code, period, 'month', dimension, member, value, unit from security_values
)

select
    stacked.indicator_code::varchar as indicator_code,
    stacked.region_code::varchar as region_code,
    stacked.period::varchar as period,
    stacked.period_type::varchar as period_type,
    stacked.dimension::varchar as dimension,
    stacked.member::varchar as member,
    -- a withheld cell keeps its row, without its value
    case when coalesce(s.conf_status, 'F') = 'F' then stacked.value end::double as value,
    stacked.unit::varchar as unit,
    coalesce(s.conf_status, 'F')::varchar as conf_status
from stacked
left join disclosure_status as s
    on (s.indicator_code, s.period, s.region_code, s.dimension, s.member)
        = (stacked.indicator_code, stacked.period, stacked.region_code, stacked.dimension, stacked.member)
-- a ratio with a zero or missing denominator is not published; nor is anything not finite
where stacked.value is not null and isfinite(stacked.value);
