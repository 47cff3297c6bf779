"""Ingestion: one parser module per feed turns landed files into validated, pseudonymised rows.

Which feeds exist, where they land and the columns of their raw tables come from `pipelines/lib/feeds.py`.
`base` holds the contract every feed parser follows and `registry` finds a feed's parser; `runner` runs one
feed: `landing` discovers and hashes its files, `ledger` knows what was committed, `file_ingest` and `workers`
parse the new files, `raw_writer` and `layout` write the append-only Parquet raw layer. docs/ingestion.md has
the table of modules.
"""
