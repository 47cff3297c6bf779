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
# Superset 6.1's zh catalogue ships msgmerge's "fuzzy" guesses, many of them wrong ("Sign in" → "Not In" on the
# login page). translations/zh.po holds our corrections; they are compiled at start-up into <state>/translations
# (for Flask-Babel, which merges every directory in order, the last one winning) and laid over the frontend's
# language pack (/superset/language_pack/zh/, in FLASK_APP_MUTATOR below). Nothing inside superset/.venv changes.
TRANSLATION_OVERRIDES = HERE / "translations"


def _compile_translation_overrides() -> str:
    """Compile translations/<lang>.po into <state>/translations/<lang>/LC_MESSAGES/messages.mo; the directory."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    target = STATE_DIR / "translations"
    for po in sorted(TRANSLATION_OVERRIDES.glob("*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.stem)
        mo = target / po.stem / "LC_MESSAGES" / "messages.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        temporary = mo.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            write_mo(handle, catalog)
        os.replace(temporary, mo)  # several processes may start at once
    return str(target)


def translation_overrides(lang: str) -> dict[str, list[str]]:
    """msgid → [msgstr] of translations/<lang>.po, in the frontend language pack's shape ({} if none)."""
    from babel.messages.pofile import read_po

    po = TRANSLATION_OVERRIDES / f"{lang}.po"
    if not po.is_file():
        return {}
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    found: dict[str, list[str]] = {}
    for message in catalog:
        if message.id and message.string:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            found[key] = list(message.string) if isinstance(message.string, tuple) else [message.string]
    return found


# "translations" is Superset's own catalogue (relative to the superset package); ours come after it and win.
BABEL_TRANSLATION_DIRECTORIES = f"translations;{_compile_translation_overrides()}"

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


def _lay_translation_overrides_over_language_packs(app) -> None:
    """The frontend fetches /superset/language_pack/<lang>/, Superset's messages.json as shipped; answer it with
    translations/<lang>.po laid over. The view itself still runs first (its access check, its 404)."""
    import json

    from flask import request

    import superset

    packs: dict[str, bytes] = {}

    @app.after_request
    def _language_pack(response):
        if request.endpoint != "Superset.language_pack" or response.status_code not in (200, 304):
            return response
        lang = (request.view_args or {}).get("lang", "")
        if lang not in packs:
            overrides = translation_overrides(lang)
            if not overrides:
                return response
            shipped = Path(superset.__file__).parent / "translations" / lang / "LC_MESSAGES" / "messages.json"
            pack = json.loads(shipped.read_text(encoding="utf-8"))
            pack["locale_data"]["superset"].update(overrides)
            packs[lang] = json.dumps(pack, ensure_ascii=False).encode("utf-8")
        response.direct_passthrough = False
        response.status_code = 200
        for header in ("ETag", "Last-Modified", "Content-Disposition"):
            response.headers.pop(header, None)
        response.set_data(packs[lang])
        response.mimetype = "application/json"
        response.headers["Cache-Control"] = "no-cache"
        return response


def FLASK_APP_MUTATOR(app) -> None:
    _lay_translation_overrides_over_language_packs(app)


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
