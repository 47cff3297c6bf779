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
for command in run backfill generate ingest rollback releases release-notes export sql demo docs; do
    innostat "$command" --help | grep -q "example" || { echo "innostat $command --help has no example"; exit 1; }
done

step "innostat run --demo over an unchanged landing zone: nothing new, the published file unchanged"
warehouse=$(python -c "from pipelines.lib.settings import Settings; print(Settings.resolve(None, None).warehouse)")
before=$(sha256sum "$warehouse" | cut -d' ' -f1)
innostat run --demo | tee "$tmp/rerun.log"
grep -q "nothing new" "$tmp/rerun.log" || { echo "a rerun over an unchanged landing zone did not say nothing new"; exit 1; }
[ "$(sha256sum "$warehouse" | cut -d' ' -f1)" = "$before" ] || { echo "a nothing-new run changed $warehouse"; exit 1; }

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

step "innostat releases, innostat release-notes"
innostat releases
innostat release-notes
innostat release-notes --release 1

step "innostat rollback (twice: the second undoes the first)"
innostat rollback
innostat rollback

step "innostat export: the current release's bundle, the same bytes as the one the publish wrote"
innostat export --out "$tmp/bundle"
# MANIFEST: the release's lines, then one `<sha256>  <file>` line per file
(cd "$tmp/bundle" && grep -E '^[0-9a-f]{64}  ' MANIFEST | sha256sum -c --quiet -)
release=$(sed -n 's/^release_id: //p' "$tmp/bundle/MANIFEST")
diff -r "$tmp/bundle" "$warehouse.exports/release-$release"

step "innostat sql: the README's queries, read-only"
innostat sql -c "select v.period, r.name_zh, round(v.value * 100, 2) as rd_intensity_pct
from marts.indicator_values as v join marts.dim_region as r using (region_code)
where v.indicator_code = 'RD_INTENSITY' order by v.period, v.region_code;"
echo "select count(*) as values_published from marts.indicator_values;" | make sql
innostat sql -c "select indicator_code, period, region_code, member, conf_status from marts.indicator_values
where conf_status <> 'F' order by all;"
innostat sql -c "select count(*) from marts.indicator_values_as_of(1) where indicator_code = 'GDP';"
innostat sql -c "select count(*) from marts.indicator_values_at(now()::timestamp) where indicator_code = 'GDP';"
innostat sql -c "select * from marts.indicator_value_changes(2);"
innostat sql -c "select indicator_code, keys_compared, keys_revised, mean_revision, mean_absolute_revision_ratio
from marts.indicator_revision_stats;"
innostat sql -c "select * from marts.indicator_revisions where is_revised order by abs(revision_ratio) desc;"
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
