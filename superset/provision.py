"""Provision Superset for innostat from nothing, idempotently; or export the dashboards back to YAML.

Run with the Superset environment's Python (superset/.venv), not the pipeline's:

    superset/.venv/bin/python superset/provision.py                 # provision (what `make superset` does)
    superset/.venv/bin/python superset/provision.py export          # UI edits → superset/assets/*.yaml

Provisioning runs these steps in one process (each `superset` CLI call would re-import Superset, 10-15 s each):
metadata DB upgrade, admin user, init (permissions and built-in roles), roles (Official, Statistician; Public
only serves the login page), import of every asset under superset/assets/ (zipped into a bundle whose DuckDB URI
points at the published warehouse, read-only, DML off), access of the roles to the imported datasets, and a check
of the DuckDB connection. Running it again changes nothing that is already right.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import logging.config
import os
import re
import secrets
import sys
import time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent
ASSETS_DIR = HERE / "assets"
DATABASE_NAME = "innostat"  # the Superset database; its permissions read [innostat].[marts]
# The datasets are the dbt views of schema `reporting` (dbt_project/models/marts/reporting/rpt_*.sql), physical
# tables to Superset, each named as its view: officials read those datasets and nothing else (no SQL Lab; a
# dataset over another schema is never granted to them). Statisticians query these schemas in SQL Lab, the
# enterprise microdata of schema `confidential` included (PUBLISHING.md §1); `raw`, `staging`, `intermediate`
# stay closed to everyone but the admin.
OFFICIAL_SCHEMAS = ("reporting",)
SQL_LAB_SCHEMAS = ("marts", "reporting", "confidential")
URI_PLACEHOLDER = "duckdb:///__INNOSTAT_WAREHOUSE__"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "innostat.duckdb"  # as pipelines/lib/settings.py

# The admin's name shows on every dashboard (owner, "modified by") and as initials in the lists: in Chinese.
ADMIN_NAME = ("系统", "管理员")

OFFICIAL = "Official"
STATISTICIAN = "Statistician"
# What an official needs to open and read dashboards, and nothing more: no SQL Lab, no Explore (ad-hoc charts),
# no dataset, database or chart editing, no export of definitions. Data access comes per dataset (step_grant).
OFFICIAL_PERMISSIONS = {
    ("can_dashboard", "Superset"),
    ("can_dashboard_permalink", "Superset"),
    ("can_share_dashboard", "Superset"),
    ("can_csv", "Superset"),
    ("can_language_pack", "Superset"),
    ("can_log", "Superset"),
    ("can_time_range", "Api"),
    ("can_read", "Dashboard"),
    ("can_read", "Chart"),
    ("can_view_chart_as_table", "Dashboard"),
    ("can_read", "DashboardFilterStateRestApi"),
    ("can_write", "DashboardFilterStateRestApi"),
    ("can_read", "DashboardPermalinkRestApi"),
    ("can_write", "DashboardPermalinkRestApi"),
    ("can_read", "CurrentUserRestApi"),
    ("can_read", "SecurityRestApi"),  # the CSRF token, for API clients (the browser UI gets it in the page)
    ("can_read", "AvailableDomains"),
    ("can_read", "Theme"),
    ("can_read", "CssTemplate"),
    ("can_get", "MenuApi"),
    ("can_recent_activity", "Log"),
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("menu_access", "Home"),
    ("menu_access", "Dashboards"),
}
# Anonymous visitors see only the login page. These two permissions expose no data: the login page fetches its
# translations (so it is in Chinese) and, when the user signs in, posts a UI event to /superset/log/. Without
# them both requests are redirected to the login page, and that redirect's session cookie can arrive after the
# login's and sign the user straight out again (about one sign-in in twenty).
PUBLIC_PERMISSIONS = {
    ("can_language_pack", "Superset"),
    ("can_log", "Superset"),
}
# Statisticians build their own charts and query marts and reporting in SQL Lab; they never edit datasets or databases.
STATISTICIAN_EXTRA = {
    ("can_explore", "Superset"),
    ("can_explore_json", "Superset"),
    ("can_slice", "Superset"),
    ("can_share_chart", "Superset"),
    ("can_fetch_datasource_metadata", "Superset"),
    ("can_read", "Explore"),
    ("can_read", "ExploreFormDataRestApi"),
    ("can_write", "ExploreFormDataRestApi"),
    ("can_read", "ExplorePermalinkRestApi"),
    ("can_write", "ExplorePermalinkRestApi"),
    ("can_get", "Datasource"),
    ("can_external_metadata", "Datasource"),
    ("can_read", "Dataset"),
    ("can_get_drill_info", "Dataset"),
    ("can_write", "Chart"),
    ("can_export", "Chart"),
    ("can_read", "Database"),
    ("can_drill", "Dashboard"),
    ("can_view_query", "Dashboard"),
    ("menu_access", "Charts"),
    ("menu_access", "Data"),
    ("menu_access", "Datasets"),
}


def say(message: str) -> None:
    print(f"[superset] {message}", flush=True)


# --------------------------------------------------------------------------------------------------------------
# Environment: everything Superset reads must be set before it is imported.


def _prepare_environment() -> None:
    os.environ.setdefault("SUPERSET_CONFIG_PATH", str(HERE / "superset_config.py"))
    state = Path(os.environ.get("SUPERSET_STATE_DIR") or HERE / ".state").expanduser().resolve()
    os.environ["SUPERSET_STATE_DIR"] = str(state)
    # DATA_DIR (uploads, examples) follows SUPERSET_HOME; keep it in the state folder, not in ~/.superset
    os.environ.setdefault("SUPERSET_HOME", str(state))
    os.environ.setdefault("FLASK_APP", "superset.app:create_app()")
    os.environ.setdefault("SUPERSET_LOG_LEVEL", "WARNING")
    state.mkdir(parents=True, exist_ok=True)


def state_dir() -> Path:
    return Path(os.environ["SUPERSET_STATE_DIR"])


def warehouse_path(flag: str | None) -> Path:
    """The *published* DuckDB file: flag, else INNOSTAT_WAREHOUSE (both relative to the working directory, as for
    `innostat run`), else the project's warehouse/innostat.duckdb; always absolute."""
    raw = flag or os.environ.get("INNOSTAT_WAREHOUSE")
    return Path(raw).expanduser().resolve() if raw else DEFAULT_WAREHOUSE


def duckdb_uri(path: Path) -> str:
    # four slashes for an absolute path: duckdb:////abs/path.duckdb
    return f"duckdb:///{path}"


# --------------------------------------------------------------------------------------------------------------
# The asset bundle: YAML in git → a zip with the warehouse's URI filled in.


def build_bundle(assets: Path, uri: str, *, sample: bool = False) -> dict[str, str]:
    """Every asset file under `assets/` keyed as the importer expects (`bundle/<path>`), URI filled in; with
    `sample`, every dashboard marked as sample data (`mark_as_sample`)."""
    import yaml

    contents: dict[str, str] = {}
    for path in sorted(assets.rglob("*.yaml")):
        relative = path.relative_to(assets).as_posix()
        text = path.read_text(encoding="utf-8")
        if relative.startswith("databases/"):
            config = yaml.safe_load(text)
            if config.get("sqlalchemy_uri") != URI_PLACEHOLDER:
                raise SystemExit(f"{path}: sqlalchemy_uri must be {URI_PLACEHOLDER} (filled in at provisioning)")
            config["sqlalchemy_uri"] = uri
            text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
        elif relative.startswith("dashboards/") and sample:
            text = yaml.safe_dump(mark_as_sample(yaml.safe_load(text)), allow_unicode=True, sort_keys=False)
        contents[f"bundle/{relative}"] = text
    if "bundle/metadata.yaml" not in contents:
        raise SystemExit(f"{assets}/metadata.yaml is missing")
    return contents


SAMPLE_SUFFIX = "（示例数据）"
SAMPLE_BANNER = (
    '<span style="color:#d9363e;font-size:16px"><b>示例数据</b>：本看板的数字来自演示用的模拟数据'
    "，不是雁峰区的统计数据，请勿引用。</span>"
)


def is_sample_warehouse(warehouse: Path) -> bool:
    """True when the published warehouse says it holds sample data (`marts.warehouse_info.is_sample_data`, written
    by `innostat demo`); a warehouse without that table, or not published yet, is not sample data."""
    if not warehouse.exists():
        return False
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        (found,) = con.execute(
            "select count(*) from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'warehouse_info' and column_name = 'is_sample_data'"
        ).fetchone()
        if not found:
            return False
        (sample,) = con.execute("select coalesce(bool_or(is_sample_data), false) from marts.warehouse_info").fetchone()
    return bool(sample)


def mark_as_sample(config: dict[str, Any]) -> dict[str, Any]:
    """A dashboard's definition, marked as sample data: 「（示例数据）」 after its title and a banner on top."""
    if not config["dashboard_title"].endswith(SAMPLE_SUFFIX):
        config["dashboard_title"] += SAMPLE_SUFFIX
    position = config["position"]
    if "MARKDOWN-sample-data" in position:
        return config
    grid = position["GRID_ID"]
    grid["children"].insert(0, "ROW-sample-data")
    position["ROW-sample-data"] = {
        "children": ["MARKDOWN-sample-data"],
        "id": "ROW-sample-data",
        "meta": {"background": "BACKGROUND_TRANSPARENT"},
        "parents": ["ROOT_ID", "GRID_ID"],
        "type": "ROW",
    }
    position["MARKDOWN-sample-data"] = {
        "children": [],
        "id": "MARKDOWN-sample-data",
        "meta": {"code": SAMPLE_BANNER, "height": 8, "width": 12},
        "parents": ["ROOT_ID", "GRID_ID", "ROW-sample-data"],
        "type": "MARKDOWN",
    }
    return config


def write_zip(contents: dict[str, str], target: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in contents.items():
            bundle.writestr(name, text)
    target.write_bytes(buffer.getvalue())


def read_zip(path: Path) -> dict[str, str]:
    """The bundle as Superset's importer reads an uploaded zip (root folder removed, YAML files only)."""
    from superset.commands.importers.v1.utils import get_contents_from_bundle

    with zipfile.ZipFile(path) as bundle:
        return get_contents_from_bundle(bundle)


# --------------------------------------------------------------------------------------------------------------
# Provisioning steps (inside one app context).


def _admin_credentials() -> tuple[str, str | None, bool]:
    """(user, password or None to keep the current one, generated?)."""
    user = os.environ.get("SUPERSET_ADMIN_USER") or "admin"
    if password := os.environ.get("SUPERSET_ADMIN_PASSWORD"):
        return user, password, False
    path = state_dir() / "admin_password"
    if path.exists():
        return user, None, False
    return user, secrets.token_urlsafe(12), True


def step_admin(security_manager: Any) -> None:
    user_name, password, generated = _admin_credentials()
    admin_role = security_manager.find_role("Admin") or security_manager.add_role("Admin")
    user = security_manager.find_user(username=user_name)
    if user is None:
        if password is None:  # the password file exists but the metadata DB is new: reuse the saved password
            password = (state_dir() / "admin_password").read_text().strip()
        created = security_manager.add_user(
            user_name, *ADMIN_NAME, f"{user_name}@innostat.local", admin_role, password=password
        )
        if not created:
            raise SystemExit(f"could not create the admin user {user_name!r}")
        say(f"admin user {user_name!r} created")
    else:
        changed = False
        if admin_role not in user.roles:
            user.roles.append(admin_role)
            changed = True
        if (user.first_name, user.last_name) == ("Superset", "Admin"):  # the name earlier provisionings gave
            user.first_name, user.last_name = ADMIN_NAME
            changed = True
        if changed:
            security_manager.update_user(user)
        if password is not None:  # set in the environment, or newly generated because the saved one is gone
            security_manager.reset_password(user.id, password)
        say(f"admin user {user_name!r} exists")
    if generated:
        path = state_dir() / "admin_password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        say(f"generated admin password (shown once; kept in {path}): {password}")


def _permission(security_manager: Any, permission: str, view: str) -> Any:
    pv = security_manager.find_permission_view_menu(permission, view)
    if pv is None:
        raise SystemExit(f"permission {permission} on {view} does not exist (Superset version changed?)")
    return pv


def step_roles(security_manager: Any, db: Any) -> None:
    sql_lab = security_manager.find_role("sql_lab")
    official = security_manager.find_role(OFFICIAL) or security_manager.add_role(OFFICIAL)
    official.permissions = [_permission(security_manager, p, v) for p, v in sorted(OFFICIAL_PERMISSIONS)]
    statistician = security_manager.find_role(STATISTICIAN) or security_manager.add_role(STATISTICIAN)
    wanted = [_permission(security_manager, p, v) for p, v in sorted(OFFICIAL_PERMISSIONS | STATISTICIAN_EXTRA)]
    statistician.permissions = list({pv.id: pv for pv in [*wanted, *sql_lab.permissions]}.values())
    public = security_manager.find_role("Public")
    if public is not None:
        public.permissions = [_permission(security_manager, p, v) for p, v in sorted(PUBLIC_PERMISSIONS)]
    db.session.commit()
    say(
        f"roles: {OFFICIAL} ({len(official.permissions)} permissions), {STATISTICIAN} "
        f"({len(statistician.permissions)}, with SQL Lab), Public (login page only)"
    )


def step_import(contents: dict[str, str], admin_user: str, security_manager: Any, db: Any) -> set[str]:
    import yaml
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.utils.core import override_user

    with override_user(security_manager.find_user(username=admin_user)):
        ImportAssetsCommand(contents).run()
    _scope_native_filters(contents, db)
    db.session.commit()
    counts: dict[str, int] = {}
    for name in contents:
        kind = name.split("/")[0]
        if kind != "metadata.yaml":
            counts[kind] = counts.get(kind, 0) + 1
    say("imported " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
    # every imported dataset, by uuid, for the roles' data access
    return {str(yaml.safe_load(text)["uuid"]) for name, text in contents.items() if name.startswith("datasets/")}


def _scope_native_filters(contents: dict[str, str], db: Any) -> None:
    """Native filters name the charts they apply to by id (`chartsInScope`), which differ in every metadata DB:
    recompute them from the imported layout, minus the charts a filter excludes (those without its column)."""
    import yaml
    from superset.models.dashboard import Dashboard

    for name, text in contents.items():
        if not name.startswith("dashboards/"):
            continue
        dashboard = db.session.query(Dashboard).filter_by(uuid=yaml.safe_load(text)["uuid"]).one()
        position = json.loads(dashboard.position_json or "{}")
        metadata = json.loads(dashboard.json_metadata or "{}")
        charts = [v["meta"]["chartId"] for v in position.values() if isinstance(v, dict) and v.get("type") == "CHART"]
        for native_filter in metadata.get("native_filter_configuration", []):
            excluded = set(native_filter.get("scope", {}).get("excluded", []))
            native_filter["chartsInScope"] = [chart for chart in charts if chart not in excluded]
        dashboard.json_metadata = json.dumps(metadata)


def step_grant(dataset_uuids: set[str], security_manager: Any, db: Any) -> None:
    """Officials read exactly the imported datasets of schema reporting; statisticians also query schemas marts,
    reporting and confidential in SQL Lab."""
    from superset.connectors.sqla.models import SqlaTable
    from superset.models.core import Database

    datasets = [d for d in db.session.query(SqlaTable).all() if str(d.uuid) in dataset_uuids]
    official = security_manager.find_role(OFFICIAL)
    statistician = security_manager.find_role(STATISTICIAN)
    for dataset in datasets:
        pv = security_manager.add_permission_view_menu("datasource_access", dataset.get_perm())
        roles = (official, statistician) if dataset.schema in OFFICIAL_SCHEMAS else (statistician,)
        if official not in roles:  # e.g. a dataset over confidential: statisticians only
            say(f"WARNING: dataset {dataset.schema}.{dataset.table_name} is for {STATISTICIAN} only (not reporting)")
        for role in roles:
            if pv not in role.permissions:
                role.permissions.append(pv)
    database = db.session.query(Database).filter_by(database_name=DATABASE_NAME).one()
    schema_perms = [security_manager.get_schema_perm(database.database_name, None, s) for s in SQL_LAB_SCHEMAS]
    for schema_perm in schema_perms:
        pv = security_manager.add_permission_view_menu("schema_access", schema_perm)
        if pv not in statistician.permissions:
            statistician.permissions.append(pv)
    db.session.commit()
    say(
        f"data access: {OFFICIAL} and {STATISTICIAN} read {len(datasets)} datasets; "
        f"{STATISTICIAN} queries {', '.join(schema_perms)} in SQL Lab"
    )


# Row-level security by street. A street official's role carries one rule, on every dataset with a region_code
# column (the street rows of rpt_indicator_values too, not only rpt_street_indicator_values): other streets' rows
# are filtered out, district and higher regions stay. `provision.py street CODE` makes the role and the rule; every
# provisioning re-attaches the rules it made to every such dataset, so a new dataset cannot leak.
STREET_LEVELS = ("street", "town")
STREET_RULE_MARK = "provision.py street"


def street_clause(code: str) -> str:
    return f"region_level NOT IN {STREET_LEVELS!r} OR region_code = '{code}'"


def street_datasets(db: Any) -> list[Any]:
    """The datasets of the warehouse with street rows: those with region_code (and region_level) columns."""
    from superset.connectors.sqla.models import SqlaTable

    found = []
    for dataset in db.session.query(SqlaTable).order_by(SqlaTable.table_name):
        columns = {column.column_name for column in dataset.columns}
        if "region_code" in columns:
            if "region_level" not in columns:
                raise SystemExit(f"dataset {dataset.table_name} has region_code but no region_level (street RLS)")
            found.append(dataset)
    return found


def step_street_rules(db: Any) -> None:
    """The street rules `provision.py street` made cover every dataset with street rows, again."""
    from superset.connectors.sqla.models import RowLevelSecurityFilter

    datasets = street_datasets(db)
    rules = [
        rule for rule in db.session.query(RowLevelSecurityFilter) if (rule.description or "").endswith(STREET_RULE_MARK)
    ]
    for rule in rules:
        if {t.id for t in rule.tables} != {d.id for d in datasets}:
            rule.tables = list(datasets)
    db.session.commit()
    if rules:
        say(f"street row-level security: {len(rules)} rules on {', '.join(d.table_name for d in datasets)}")


def step_check_connection(warehouse: Path, db: Any) -> None:
    from superset.models.core import Database

    database = db.session.query(Database).filter_by(database_name=DATABASE_NAME).one()
    extra = json.loads(database.extra or "{}")
    read_only = extra.get("engine_params", {}).get("connect_args", {}).get("read_only")
    if database.allow_dml or read_only is not True:
        raise SystemExit(f"database {DATABASE_NAME!r} must be read-only with DML off (assets/databases/)")
    if not warehouse.exists():
        say(f"WARNING: no published warehouse at {warehouse} yet; dashboards fill once `innostat run` publishes")
        return
    with database.get_sqla_engine() as engine, engine.connect() as connection:
        (rows,) = connection.exec_driver_sql("select count(*) from marts.indicator_values").fetchone()
        (views,) = connection.exec_driver_sql(
            "select count(*) from information_schema.tables where table_schema = 'reporting'"
        ).fetchone()
    say(f"DuckDB connection: {database.sqlalchemy_uri_decrypted} (read-only, DML off): {rows} indicator values")
    if not views:  # published by a pipeline from before the reporting views (schema reporting)
        say("WARNING: the published warehouse has no reporting views; dashboards fill once `innostat run` publishes")


def provision(args: argparse.Namespace) -> int:
    started = time.monotonic()
    warehouse = warehouse_path(args.warehouse)
    sample = is_sample_warehouse(warehouse)
    contents = build_bundle(Path(args.assets), duckdb_uri(warehouse), sample=sample)
    bundle_path = state_dir() / "assets_bundle.zip"
    write_zip(contents, bundle_path)
    say(f"bundle {bundle_path} ({len(contents)} files), warehouse {warehouse}")
    if sample:
        say(f"the warehouse holds sample data (marts.warehouse_info): every dashboard is marked {SAMPLE_SUFFIX}")
    say(f"metadata database: {_masked(os.environ.get('SUPERSET_METADATA_DB_URI')) or state_dir() / 'superset.db'}")

    say("loading Superset …")
    from sqlalchemy.exc import SAWarning
    from superset.app import create_app

    # the importer's flush-time warnings (SQLAlchemy 1.4) are Superset's own and harmless here
    warnings.filterwarnings("ignore", category=SAWarning)
    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        from superset import appbuilder, db, security_manager

        say("step 1/6: metadata database upgrade")
        with _quiet_migrations():
            upgrade()
        say("step 2/6: admin user")
        step_admin(security_manager)
        say("step 3/6: init (permissions, built-in roles)")
        appbuilder.add_permissions(update_perms=True)
        security_manager.sync_role_definitions()
        say("step 4/6: roles")
        step_roles(security_manager, db)
        say("step 5/6: import assets")
        uuids = step_import(read_zip(bundle_path), _admin_credentials()[0], security_manager, db)
        step_grant(uuids, security_manager, db)
        step_street_rules(db)
        say("step 6/6: DuckDB connection")
        step_check_connection(warehouse, db)
    say(f"provisioned in {time.monotonic() - started:.0f} s")
    return 0


@contextlib.contextmanager
def _quiet_migrations() -> Iterator[None]:
    """Superset's migration environment re-reads alembic.ini's logging, one INFO line per migration (about 350
    on a new database); keep the steps readable."""
    real = logging.config.fileConfig
    logging.config.fileConfig = lambda *args, **kwargs: None
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        yield
    finally:
        logging.config.fileConfig = real


def _masked(uri: str | None) -> str | None:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", uri) if uri else None


# --------------------------------------------------------------------------------------------------------------
# Export: what an admin changed in the UI, back into superset/assets/ with clean names and no machine paths.


def _yaml_dumper() -> Any:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, data: str) -> Any:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def dump_yaml(config: dict[str, Any]) -> str:
    import yaml

    return yaml.dump(config, Dumper=_yaml_dumper(), allow_unicode=True, sort_keys=False, width=120)


def _asset_files(assets: Path) -> dict[str, Path]:
    """uuid → file of every asset already in git, so an export keeps file names and only changes contents."""
    import yaml

    found: dict[str, Path] = {}
    for path in assets.rglob("*.yaml"):
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if "uuid" in config:
            found[str(config["uuid"])] = path
    return found


def _normalise(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Drop what only makes sense in one metadata DB (instance ids), so exports diff cleanly."""
    if kind == "databases":
        config["sqlalchemy_uri"] = URI_PLACEHOLDER
    elif kind == "charts":
        for key in ("slice_id", "dashboards", "datasource", "url_params"):
            config.get("params", {}).pop(key, None)
        if config.get("query_context"):
            context = json.loads(config["query_context"])
            context.pop("datasource", None)
            for key in ("slice_id", "dashboards", "datasource", "url_params"):
                context.get("form_data", {}).pop(key, None)
            for query in context.get("queries", []):
                query.pop("datasource", None)
            config["query_context"] = json.dumps(context, ensure_ascii=False, indent=1, sort_keys=True)
    elif kind == "dashboards":
        for native_filter in config.get("metadata", {}).get("native_filter_configuration", []):
            native_filter.pop("chartsInScope", None)  # ids of this instance; provisioning recomputes them
            native_filter.pop("tabsInScope", None)
    return config


def _new_stem(config: dict[str, Any]) -> str:
    """A new dataset, database or dashboard's file name: its table name (a dataset is named as its reporting view),
    database name or slug."""
    label = config.get("table_name") or config.get("database_name") or config.get("slug") or ""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(label)).strip("_").lower()


def chart_stem(config: dict[str, Any], dashboard: str) -> str:
    """A new chart's file name by the rule of docs/superset.md, `<dashboard>__<indicator>__<view>`: the indicator
    code it filters on in lower case (`chart` when it shows none or several: rename it to its subject), and its
    visualisation type for the view (rename it to `big`, `by_street`, …)."""
    codes: set[str] = set()
    for condition in (config.get("params") or {}).get("adhoc_filters") or []:
        if condition.get("subject") == "indicator_code":
            comparator = condition.get("comparator")
            codes.update(comparator if isinstance(comparator, list) else [comparator])
    subject = next(iter(codes)).lower() if len(codes) == 1 else "chart"
    view = re.sub(r"^echarts_", "", str(config.get("viz_type") or "chart"))
    return re.sub(r"[^0-9a-z_]+", "_", f"{dashboard}__{subject}__{view}".lower())


def export(args: argparse.Namespace) -> int:
    import yaml

    say("loading Superset …")
    from superset.app import create_app

    app = create_app()
    target = Path(args.assets)
    existing = _asset_files(target)
    with app.app_context():
        from superset.commands.dashboard.export import ExportDashboardsCommand
        from superset.models.dashboard import Dashboard
        from superset.utils.core import override_user

        from superset import db, security_manager

        admin = security_manager.find_user(username=_admin_credentials()[0])
        ids = [d.id for d in db.session.query(Dashboard).order_by(Dashboard.id)]
        with override_user(admin):
            files = {
                name: (content() if callable(content) else content)
                for name, content in ExportDashboardsCommand(ids).run()
            }
    written = []
    configs = {
        name: _normalise(name.split("/")[0], yaml.safe_load(text))
        for name, text in sorted(files.items())
        if name != "metadata.yaml"  # ours says type: assets; the export's timestamp would only add noise
    }
    dashboard_of_chart: dict[str, str] = {}  # chart uuid → the stem of its dashboard's file
    for name, config in configs.items():
        if name.startswith("dashboards/"):
            stem = (existing.get(str(config["uuid"])) or Path(_new_stem(config))).stem
            for item in config.get("position", {}).values():
                if isinstance(item, dict) and item.get("type") == "CHART":
                    dashboard_of_chart[str(item["meta"]["uuid"])] = stem
    for name, config in configs.items():
        kind = name.split("/")[0]
        path = existing.get(str(config["uuid"]))
        if path is None:
            if kind == "charts":
                stem = chart_stem(config, dashboard_of_chart.get(str(config["uuid"]), "none"))
            else:
                stem = _new_stem(config) or f"{kind[:-1]}_{str(config['uuid'])[:8]}"
            sub = f"{kind}/{DATABASE_NAME}" if kind == "datasets" else kind
            path = target / sub / f"{stem}.yaml"
            if path.exists():  # a name taken by another asset: keep both
                path = path.with_name(f"{stem}__{str(config['uuid'])[:8]}.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(config), encoding="utf-8")
        written.append(path)
    say(f"exported {len(written)} files into {target}; review with `git diff {target}`")
    return 0


def street(args: argparse.Namespace) -> int:
    """Role `Street CODE` and its row-level security rule (every dataset with street rows); --user gets the role."""
    code = args.code or ""
    if not re.fullmatch(r"\d{12}", code):
        raise SystemExit(f"street: give the 12-digit code of a street or town (marts.dim_region), not {code!r}")
    warehouse = warehouse_path(args.warehouse)
    name = code
    if warehouse.exists():
        import duckdb

        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute("select name_zh, level from marts.dim_region where region_code = ?", [code]).fetchone()
        if row is None or row[1] not in STREET_LEVELS:
            raise SystemExit(f"street: {code} is not a street or town in marts.dim_region of {warehouse}")
        name = row[0]
    say("loading Superset …")
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset.connectors.sqla.models import RowLevelSecurityFilter
        from superset.utils.core import RowLevelSecurityFilterType

        from superset import db, security_manager

        role_name = f"Street {code}"
        role = security_manager.find_role(role_name) or security_manager.add_role(role_name)
        rule_name = f"街道 {code}"
        rule = db.session.query(RowLevelSecurityFilter).filter_by(name=rule_name).one_or_none()
        if rule is None:
            rule = RowLevelSecurityFilter(name=rule_name)
            db.session.add(rule)
        rule.description = f"只看{name}的街道数据（其他街道的行不显示，区及以上不受限）。{STREET_RULE_MARK}"
        rule.filter_type = RowLevelSecurityFilterType.REGULAR.value
        rule.group_key = "region_code"
        rule.clause = street_clause(code)
        rule.roles = [role]
        rule.tables = street_datasets(db)
        db.session.commit()
        say(f"role {role_name!r}: rule {rule_name!r} on {', '.join(t.table_name for t in rule.tables)}")
        for user_name in args.user or []:
            user = security_manager.find_user(username=user_name)
            if user is None:
                raise SystemExit(f"street: no user {user_name!r}")
            if role not in user.roles:
                user.roles.append(role)
                security_manager.update_user(user)
            say(f"user {user_name!r} now sees only {name} among the streets")
    return 0


def wait(args: argparse.Namespace) -> int:
    """Until the web server answers /health (gunicorn takes 10-20 s to import Superset)."""
    import urllib.request

    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{args.url}/health", timeout=5) as response:
                if response.status == 200:
                    say(f"ready: {args.url}")
                    return 0
        except OSError:
            pass
        time.sleep(1)
    say(f"no answer from {args.url} after {args.timeout} s; see the log (.run/superset.log for `make superset`)")
    return 1


# --------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="provision.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""example:
  INNOSTAT_WAREHOUSE=warehouse/innostat.duckdb SUPERSET_ADMIN_PASSWORD=… \\
      superset/.venv/bin/python superset/provision.py
  superset/.venv/bin/gunicorn -w 1 -k gthread --threads 8 -b 127.0.0.1:8088 "superset.app:create_app()"

environment: INNOSTAT_WAREHOUSE (the published DuckDB file), SUPERSET_ADMIN_USER / SUPERSET_ADMIN_PASSWORD
(unset: a random password is generated into <state>/admin_password and printed once), SUPERSET_SECRET_KEY,
SUPERSET_METADATA_DB_URI (default SQLite in <state>), SUPERSET_STATE_DIR (default superset/.state).""",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=("provision", "export", "street", "wait"),
        default="provision",
        help="provision (default); export the dashboards of the metadata DB to YAML; street CODE: a role that "
        "limits its users to one street (row-level security); wait until the web server at --url answers",
    )
    parser.add_argument("code", nargs="?", help="for street: the 12-digit street or town code (marts.dim_region)")
    parser.add_argument("--user", action="append", help="for street: give this user the street's role (repeatable)")
    parser.add_argument(
        "--warehouse", help="the published DuckDB file (default $INNOSTAT_WAREHOUSE, else warehouse/innostat.duckdb)"
    )
    parser.add_argument("--assets", default=str(ASSETS_DIR), help="asset folder (default superset/assets)")
    parser.add_argument("--url", default="http://127.0.0.1:8088", help="for wait: the server (default %(default)s)")
    parser.add_argument("--timeout", type=int, default=120, help="for wait: seconds (default %(default)s)")
    args = parser.parse_args(argv)
    if args.command == "wait":
        return wait(args)
    _prepare_environment()
    return {"provision": provision, "export": export, "street": street}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
