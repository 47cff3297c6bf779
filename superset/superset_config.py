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
import secrets
from datetime import timedelta
from pathlib import Path

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
SQLALCHEMY_TRACK_MODIFICATIONS = False

# ---------------------------------------------------------------------------------------------------------------
# Language: the officials read Chinese; English stays selectable from the user menu.
BABEL_DEFAULT_LOCALE = "zh"
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "us", "name": "English"},
}
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
    # Jinja in SQL stays off: datasets are plain SQL over marts.
    "ENABLE_TEMPLATE_PROCESSING": False,
}
ENABLE_UI_THEME_ADMINISTRATION = False

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
