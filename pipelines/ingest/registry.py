"""Each feed's parser, found through the feed registry (pipelines/lib/feeds.py), which names its module."""

from __future__ import annotations

import importlib
from functools import cache

from pipelines.ingest.base import FeedParser
from pipelines.lib.feeds import feed


@cache
def parser_for(table: str) -> FeedParser:
    """The parser of the feed (= raw table) `table`; KeyError naming the known feeds otherwise."""
    return importlib.import_module(f"pipelines.ingest.{feed(table).parser}").PARSER
