"""The quality gate: Great Expectations suites (`suites/`) run on frames read from the raw layer or the working
build, their results kept as a history, and the verdict the publish step obeys.

| module | its one job |
| --- | --- |
| `suites/` | the rules: one module per raw table and per mart officials see (imports only `pipelines.lib`) |
| `results.py` | what a check found: `RuleResult` per expectation, `Outcome` per check |
| `gx_runner.py` | one suite on one pandas frame through GX, with samples that never show a personal field |
| `chunking.py` | splitting suites into row-wise, uniqueness and whole-table parts; judging rows chunk by chunk |
| `frames.py` | the frames a check reads: this run's raw batch, a mart of the working build |
| `checks.py` | `check_raw` and `check_mart`: a whole check, recorded |
| `history.py` | the results as `marts.data_quality`, and the publish verdict (`publish_blockers`) |
| `process.py` | the run's check process, started with the run so that GX is imported on the other core |

What the gate reads from the environment arrives as one `pipelines.lib.settings.QualitySettings`. Nothing here
imports `pipelines.ingest`, and `pipelines.lib` imports nothing from here.
"""
