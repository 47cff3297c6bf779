"""The tabular feeds' readers (statistics, R&D filings, camera status), one job per module: `reader` (CSV or xlsx
by extension, then the cells over their cap), `csv_file`, `xlsx_file`, and `rows` (what they share)."""
