"""Partitions, defined once: government-service and security facts are partitioned by Asia/Shanghai month."""

import dagster as dg

MONTH_FORMAT = "%Y-%m"
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date="2015-01", fmt=MONTH_FORMAT, timezone="Asia/Shanghai", end_offset=1
)
