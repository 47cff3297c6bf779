"""Shared helpers: settings, encodings, periods, timestamps, pseudonymisation, reference data."""
