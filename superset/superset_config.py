"""Superset configuration for innostat: the officials' dashboards over the published warehouse.

Loaded by Superset through `SUPERSET_CONFIG_PATH` (set by `provision.py` and the Makefile). Everything that differs
between a laptop and production comes from the environment:

- `SUPERSET_SECRET_KEY`: the key that signs sessions and encrypts stored secrets. Unset, a random key is generated
  once into `<state>/secret_key` (git-ignored); there is never a default key.
- `SUPERSET_METADATA_DB_URI`: the metadata database. Unset, SQLite in `<state>/superset.db`; production uses
  PostgreSQL, e.g. `postgresql+psycopg2://superset:…@db.internal/superset` (see docs/superset.md).
- `SUPERSET_STATE_DIR`: where the generated key and the SQLite file live (default `superset/.state/`).

The DuckDB connection itself is not configured here: `provision.py` imports it from `assets/databases/` with the
URI of the *published* warehouse (`INNOSTAT_WAREHOUSE`), opened read-only with DML off.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("SUPERSET_STATE_DIR") or HERE / ".state").expanduser().resolve()
STATE_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The environment's key, else one generated once and kept (0600) in the state folder."""
    if key := os.environ.get("SUPERSET_SECRET_KEY"):
        return key
    path = STATE_DIR / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

# ---------------------------------------------------------------------------------------------------------------
# Metadata database: SQLite for one machine, PostgreSQL for production (docs/superset.md).
SQLALCHEMY_DATABASE_URI = os.environ.get("SUPERSET_METADATA_DB_URI") or (
    f"sqlite:///{STATE_DIR / 'superset.db'}?check_same_thread=false"
)


def _private_state() -> None:
    """The state folder holds the secret key, the admin password and (SQLite) every user's password hash: only its
    owner reads it. The SQLite file is created 0600 before SQLAlchemy opens it (SQLite gives its journal the same
    mode), and an older 0644 one is tightened."""
    STATE_DIR.chmod(0o700)
    if not os.environ.get("SUPERSET_METADATA_DB_URI"):
        metadata = STATE_DIR / "superset.db"
        os.close(os.open(metadata, os.O_RDWR | os.O_CREAT, 0o600))
        for path in (metadata, *STATE_DIR.glob("superset.db-*")):
            path.chmod(0o600)


_private_state()
SQLALCHEMY_TRACK_MODIFICATIONS = False

# ---------------------------------------------------------------------------------------------------------------
# Language: the officials read Chinese; English stays selectable from the user menu.
BABEL_DEFAULT_LOCALE = "zh"
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "us", "name": "English"},
}
# Superset 6.1's zh catalogue ships msgmerge's "fuzzy" guesses (a third of it), and many are wrong: "Sign in" is
# "Not In" on the login page (the translation of "Not in"), "Waiting on %s" is 显示 %s个 总计 %s个. At start-up
# this config writes a corrected catalogue into <state>/translations: a fuzzy guess that is provably wrong (it is
# the translation of another string, or its placeholders differ) is dropped, so the English shows instead, and
# translations/<lang>.po (ours) is laid over. Flask-Babel merges its directories in order, the last one winning;
# the frontend's language pack (/superset/language_pack/<lang>/) is answered with the corrected JSON
# (FLASK_APP_MUTATOR below). Nothing inside superset/.venv changes. See docs/superset.md, "Translations".
TRANSLATION_OVERRIDES = HERE / "translations"
CORRECTED_TRANSLATIONS = STATE_DIR / "translations"
_PLACEHOLDER = re.compile(r"%\([A-Za-z_]+\)[sd]|%[sd]|\{[A-Za-z_0-9]*\}")


def _first(text: str | tuple[str, ...]) -> str:
    return text[0] if isinstance(text, tuple) else text


def wrong_guesses(shipped: Any) -> set[str]:
    """msgids whose fuzzy translation is another msgid's translation, or whose placeholders differ."""

    def same(msgid: str) -> str:  # "Username:" is "Username"; "Sign in" is not "Not in"
        return re.sub(r"[^a-z0-9]", "", msgid.lower())

    settled: dict[str, set[str]] = {}
    for message in shipped:
        if message.id and _first(message.string) and not message.fuzzy:
            settled.setdefault(_first(message.string), set()).add(same(_first(message.id)))
    wrong = set()
    for message in shipped:
        msgid, msgstr = _first(message.id), _first(message.string) if message.id else ""
        if not (msgid and msgstr and message.fuzzy):
            continue
        copied = msgstr in settled and same(msgid) not in settled[msgstr]
        if copied or sorted(_PLACEHOLDER.findall(msgid)) != sorted(_PLACEHOLDER.findall(msgstr)):
            wrong.add(msgid)
    return wrong


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)  # several processes may start at once


def _correct_translations() -> str:
    """For every translations/<lang>.po: <state>/translations/<lang>/LC_MESSAGES/messages.mo (the dropped guesses
    as their English, and our corrections) and messages.json (Superset's language pack, corrected)."""
    import importlib.util
    import io
    import json

    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    package = Path(importlib.util.find_spec("superset").origin).parent  # not imported: it is importing us
    for po in sorted(TRANSLATION_OVERRIDES.glob("*.po")):
        lang = po.stem
        shipped_dir = package / "translations" / lang / "LC_MESSAGES"
        with (shipped_dir / "messages.po").open("rb") as handle:
            shipped = read_po(handle, locale=lang)
        with po.open("rb") as handle:
            ours = read_po(handle, locale=lang)
        corrections = {_first(m.id): m for m in ours if m.id and _first(m.string)}
        dropped = wrong_guesses(shipped) - set(corrections)

        catalog = Catalog(locale=lang, domain="messages")
        for message in shipped:
            if message.id and _first(message.id) in dropped:
                catalog.add(message.id, message.id)  # the English, over Superset's wrong guess
        for message in corrections.values():
            catalog.add(message.id, message.string)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        target = CORRECTED_TRANSLATIONS / lang / "LC_MESSAGES"
        _write_atomically(target / "messages.mo", buffer.getvalue())

        pack = json.loads((shipped_dir / "messages.json").read_text(encoding="utf-8"))
        strings = pack["locale_data"]["superset"]
        for msgid in dropped:
            strings.pop(msgid, None)
        for msgid, message in corrections.items():
            strings[msgid] = list(message.string) if isinstance(message.string, tuple) else [message.string]
        _write_atomically(target / "messages.json", json.dumps(pack, ensure_ascii=False).encode("utf-8"))
    return str(CORRECTED_TRANSLATIONS)


# "translations" is Superset's own catalogue (relative to the superset package); the corrected one comes after it.
BABEL_TRANSLATION_DIRECTORIES = f"translations;{_correct_translations()}"

D3_FORMAT = {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["¥", ""]}
CURRENCIES = ["CNY"]
APP_NAME = "雁峰区创新统计"

THEME_DEFAULT = {
    "token": {
        "brandAppName": APP_NAME,
        "brandLogoAlt": APP_NAME,
        "brandLogoUrl": "/static/assets/images/superset-logo-horiz.png",
        "brandLogoMargin": "18px 0",
        "brandLogoHref": "/",
        "brandLogoHeight": "24px",
        "colorPrimary": "#1f5fa8",
        "colorLink": "#1f5fa8",
        "colorError": "#d9363e",
        "colorWarning": "#f0a020",
        "colorSuccess": "#2e9d5b",
        "colorInfo": "#4a90d9",
        # No web fonts (offline): Inter is bundled; Chinese falls back to the system's CJK font.
        "fontUrls": [],
        "fontFamily": "Inter, 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', 'Source Han Sans SC', sans-serif",
        "fontFamilyCode": "'IBM Plex Mono', 'Courier New', monospace",
        "transitionTiming": 0.3,
        "brandIconMaxWidth": 37,
        "fontSizeXS": "8",
        "fontSizeXXL": "28",
        "fontWeightNormal": "400",
        "fontWeightLight": "300",
        "fontWeightStrong": "500",
        "fontWeightBold": "700",
        "colorEditorSelection": "#fff5cf",
    },
    "algorithm": "default",
}
THEME_DARK = None  # one look for every official
THEME_FONT_URL_ALLOWED_DOMAINS: list[str] = []

# ---------------------------------------------------------------------------------------------------------------
# Offline: a same-origin Content-Security-Policy. The stock policy allows a telemetry pixel, map tiles and web
# fonts on other hosts; this one allows nothing that is not served by this Superset, so no request leaves.
_SAME_ORIGIN_CSP = {
    "base-uri": ["'self'"],
    "default-src": ["'self'"],
    "img-src": ["'self'", "blob:", "data:"],
    "worker-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "object-src": "'none'",
    "style-src": ["'self'", "'unsafe-inline'"],
    "font-src": ["'self'", "data:"],
    "script-src": ["'self'", "'strict-dynamic'"],
    "frame-ancestors": ["'self'"],
}
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": _SAME_ORIGIN_CSP,
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
TALISMAN_DEV_CONFIG = {
    **TALISMAN_CONFIG,
    "content_security_policy": {**_SAME_ORIGIN_CSP, "script-src": ["'self'", "'unsafe-inline'", "'unsafe-eval'"]},
}
CONTENT_SECURITY_POLICY_WARNING = False
# No "help" links to the Superset documentation site, no remote avatars.
DOCUMENTATION_URL = None
BUG_REPORT_URL = None
SLACK_ENABLE_AVATARS = False

# ---------------------------------------------------------------------------------------------------------------
# Access: nobody sees anything without logging in. provision.py leaves the Public role only what the login page
# itself needs (its translations and its UI event log; no data).
PUBLIC_ROLE_LIKE = None
AUTH_ROLE_PUBLIC = "Public"
# New self-registration is off (Flask-AppBuilder default); accounts are made by the admin.
AUTH_USER_REGISTRATION = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

FEATURE_FLAGS = {
    # Render every chart of a dashboard at once: they are few, and a screenshot or a PDF must show all of them.
    "DASHBOARD_VIRTUALIZATION": False,
    # Drill to detail would list the rows behind a chart; officials read aggregates only.
    "DRILL_TO_DETAIL": False,
    "DRILL_BY": False,
    # Row-level security (always on in Superset 6) applies to SQL Lab too, for statisticians limited to a street.
    "RLS_IN_SQLLAB": True,
    # Jinja in SQL stays off: datasets are the plain dbt views of schema reporting.
    "ENABLE_TEMPLATE_PROCESSING": False,
    # No sub-query in a chart's custom SQL (metric, column, WHERE): officials may send their own queries to the
    # chart-data API over their datasets, and a sub-query could read any schema of the file (`confidential` too).
    # Superset's default; stated because the officials' protection rests on it (docs/superset.md, "Roles").
    "ALLOW_ADHOC_SUBQUERY": False,
}

# SQL Lab (statisticians only) must not get round the schema permissions: DuckDB's table functions that read a
# table or a file by a string (query_table('raw.quarantine'), query('…'), read_parquet('…/raw/…')) are invisible
# to Superset's table check, so they are refused outright. The connection itself is opened with
# enable_external_access=false (assets/databases/innostat.yaml), which stops every file read, ATTACH and COPY in
# DuckDB whatever the SQL; this list is the second lock, and also hides the engine's settings (file paths).
DISALLOWED_SQL_FUNCTIONS = {
    "duckdb": {
        "query",
        "query_table",
        "read_csv",
        "read_csv_auto",
        "sniff_csv",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "glob",
        "getenv",
        "current_setting",
        "duckdb_settings",
        "duckdb_databases",
        "duckdb_secrets",
    },
}
ENABLE_UI_THEME_ADMINISTRATION = False


def _serve_corrected_language_packs(app) -> None:
    """The frontend fetches /superset/language_pack/<lang>/ (Superset's messages.json as shipped); answer it with
    the corrected pack of <state>/translations. The view itself still runs first (its access check, its 404)."""
    from flask import request

    @app.after_request
    def _language_pack(response):
        if request.endpoint != "Superset.language_pack" or response.status_code not in (200, 304):
            return response
        lang = (request.view_args or {}).get("lang", "")
        corrected = CORRECTED_TRANSLATIONS / lang / "LC_MESSAGES" / "messages.json"
        if "/" in lang or not corrected.is_file():
            return response
        response.direct_passthrough = False
        response.status_code = 200
        for header in ("ETag", "Last-Modified", "Content-Disposition"):
            response.headers.pop(header, None)
        response.set_data(corrected.read_bytes())
        response.mimetype = "application/json"
        response.headers["Cache-Control"] = "no-cache"
        return response


# Reading a chart's data needs `can_read` on Chart, and so does listing every chart: Superset cannot grant one
# without the other. Officials (no `can_write` on Chart) read the charts of their dashboards, but the chart list,
# a chart's definition and its export answer 403, and their home page is the dashboard list (docs/superset.md).
CHART_LISTING = {
    "ChartRestApi.get_list",
    "ChartRestApi.get",
    "ChartRestApi.export",
    "ChartRestApi.related",
    "ChartRestApi.distinct",
    "SliceModelView.list",
}


def _officials_do_not_list_charts(app) -> None:
    """After the view (when the API's own authentication has found the user), not before it."""
    from flask import redirect, request

    from superset import security_manager

    @app.after_request
    def _chart_listing(response):
        if request.endpoint not in CHART_LISTING and request.endpoint != "Superset.welcome":
            return response
        if response.status_code != 200 or security_manager.can_access("can_write", "Chart"):
            return response
        if request.endpoint == "Superset.welcome":
            return redirect("/dashboard/list/")
        return app.response_class('{"message": "Forbidden"}', status=403, mimetype="application/json")


def FLASK_APP_MUTATOR(app) -> None:
    _serve_corrected_language_packs(app)
    _officials_do_not_list_charts(app)


# ---------------------------------------------------------------------------------------------------------------
# Freshness: the pipeline replaces the published DuckDB file atomically (os.replace). Superset opens a new DuckDB
# connection for every query (its engines always use NullPool) and caches no query result, so the
# first query after a publish reads the new file; no restart, no stale cache.
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# provision.py lowers this to WARNING so its own progress lines stay readable
LOG_LEVEL = os.environ.get("SUPERSET_LOG_LEVEL", "INFO").upper()
ROW_LIMIT = 10000
SQL_MAX_ROW = 100000
SQLLAB_TIMEOUT = 60
SUPERSET_WEBSERVER_TIMEOUT = 60
PREVENT_UNSAFE_DB_CONNECTIONS = True
# Logs go to the console (gunicorn writes them to .run/superset.log); no event logging to external services.
ENABLE_PROXY_FIX = False
