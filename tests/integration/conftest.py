"""End-to-end tests share the session's generated landing zone (`generated`, in tests/conftest.py)."""

from tests.helpers import TINY, copy_landing

__all__ = ["TINY", "copy_landing"]
