"""Ingestion: one module per raw table turns landed files into validated, pseudonymised rows.

`base` holds the contract every feed parser follows; `runner` discovers files, deduplicates them by content
hash against the ingest ledger and writes the append-only Parquet raw layer.
"""
