#!/usr/bin/env bash
# Every command the README shows, run as a new user would after `make demo` (issue 23: a README command that no
# test runs breaks unnoticed). Expects the demo's warehouse and services; leaves the work tree clean.
set -euo pipefail
cd "$(dirname "$0")/.."
source .venv/bin/activate
step() { echo; echo "[readme] $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step "make help"
make help | tee "$tmp/help"
! grep -F '$$' "$tmp/help"

step "innostat --help and every subcommand's --help has an example"
for command in run backfill generate ingest rollback sql demo docs; do
    innostat "$command" --help | grep -q "example" || { echo "innostat $command --help has no example"; exit 1; }
done

step "innostat run --demo over an unchanged landing zone"
innostat run --demo | tee "$tmp/rerun.log"

step "make run without a key fails and names the demo key; DEMO=1 uses it"
if env -u INNOSTAT_PII_KEY make run > "$tmp/run.log" 2>&1; then echo "make run without a key succeeded"; exit 1; fi
grep -q "demo_pii.key" "$tmp/run.log" || { cat "$tmp/run.log"; exit 1; }
make run DEMO=1

step "innostat ingest --table gov_services --demo"
innostat ingest --table gov_services --demo

step "bad arguments exit 2 with a message, no traceback"
for args in "backfill --from 2021-13 --to 2021-14" "backfill --from 2030-01 --to 2030-02" "ingest --table foo" \
    "run --log-level loud" "generate --out $tmp/x --scale -1"; do
    set +e; innostat $args > "$tmp/bad.log" 2>&1; rc=$?; set -e
    if [ "$rc" != 2 ] || grep -q Traceback "$tmp/bad.log"; then echo "innostat $args: rc $rc"; cat "$tmp/bad.log"; exit 1; fi
    tail -1 "$tmp/bad.log"
done

step "innostat backfill --from 2021-01 --to 2021-06"
innostat backfill --from 2021-01 --to 2021-06

step "innostat rollback (twice: the second undoes the first)"
innostat rollback
innostat rollback

step "innostat sql: the README's queries, read-only"
innostat sql -c "select v.period, r.name_zh, round(v.value * 100, 2) as rd_intensity_pct
from marts.indicator_values as v join marts.dim_region as r using (region_code)
where v.indicator_code = 'RD_INTENSITY' order by v.period, v.region_code;"
echo "select count(*) as values_published from marts.indicator_values;" | make sql
if innostat sql -c "create table marts.x as select 1" > "$tmp/sql.log" 2>&1; then echo "sql wrote"; exit 1; fi

step "innostat generate"
innostat generate --out "$tmp/landing" --seed 7 --scale 0.002 --years 2021-2021 --manifest "$tmp/manifest.json"

step "innostat docs leaves docs/indicators.md as committed"
innostat docs
git diff --exit-code -- docs/indicators.md

step "make dagster and make superset are idempotent while running"
make dagster
make superset
echo "[readme] every README command ran"
