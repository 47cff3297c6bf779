"""Quality gates: Great Expectations suites (expectations/) as blocking Dagster asset checks."""
