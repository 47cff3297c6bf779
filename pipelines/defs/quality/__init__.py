"""Quality gates: Great Expectations suites (pipelines/quality/suites/) as blocking Dagster asset checks."""
