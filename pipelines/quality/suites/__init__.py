"""Great Expectations suites as code: one module per raw table (`raw/`) and per official-facing mart (`marts/`).

Each module exposes `build_suites(thresholds)`, which returns the table's suites (`core.Suite`): a GX
`ExpectationSuite` per frame it validates, every expectation with a stable name, a severity (`block` or `warn`)
and the reason it exists. The thresholds are `pipelines.lib.settings.QualityThresholds`. The suites import only
`pipelines.lib`; the runtime around them (`pipelines/quality/`) runs them, and `pipelines/defs/quality/checks.py`
makes them Dagster asset checks. Importing a suite module imports Great Expectations (about 8 s): only the checks
do, lazily.
"""

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # before great_expectations is imported anywhere
