"""The JSON Lines feeds' shared machinery (gov_services, security incidents), one job per module:

- `reading`: a file read once, a chunk at a time, into numbered batches of lines; whole-file problems reject it.
- `decoding`: lines decoded into objects (the authority), and the scrubbed `raw` of a line for the quarantine.
- `fast_path`: the "plain" lines recognised by a strict pattern and typed column-wise by an in-memory DuckDB.
- `columns`: typed columns from delivered values, each with the offending values a rule can name.
- `batches`: a feed's typed frame of one batch from both paths, its rules, its quarantine rows.

Both paths give identical rows (tests/ingest/test_json_fast_path.py); typing and the rules are column-wise polars.
"""
