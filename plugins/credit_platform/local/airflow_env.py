"""The environment Airflow runs in: this project's DAGs and plugins, its metadata database in the
warehouse server, and one connection per warehouse role.

``credit-platform airflow env`` prints it as shell ``export`` lines; ``credit-platform airflow
start`` and the tests pass it to the Airflow processes they start. Generated secrets (JWT and
API secret keys, Fernet key) live in ``.local/airflow/secrets.json``, created on first use and
never committed; a deployment passes its own through the environment instead.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from credit_platform.settings import DEFAULT_AIRFLOW_PORT, TIMEZONE, env_int, paths
from credit_platform.warehouse import access
from credit_platform.warehouse.roles import ROLES
from credit_platform.warehouse.urls import admin_url, url_for

#: How Airflow runs the platform, here and in docker-compose.yml alike (tests/unit/test_deployment_files.py
#: holds the two equal): schedules and naive dates in the city's time zone, and every DAG running from
#: the moment it is first parsed, as dags/README.md describes them (hourly ingests, a daily health check,
#: the rest queued by assets, which a paused DAG ignores). Airflow 3 has no server setting for the time
#: zone the UI shows (Airflow 2's ``[webserver] default_ui_timezone`` is gone): the UI shows the
#: browser's, and a user elsewhere picks Asia/Shanghai in the UI's user menu once. The environment may
#: say otherwise (the tests keep DAGs paused: a scheduler they start runs only what they run).
PLATFORM_SETTINGS = {
    "AIRFLOW__CORE__DEFAULT_TIMEZONE": TIMEZONE,
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
}
#: Airflow settings that a deployment may set itself; generated locally when absent.
_SECRET_SETTINGS = {
    "AIRFLOW__API_AUTH__JWT_SECRET": lambda: secrets.token_urlsafe(32),
    "AIRFLOW__API__SECRET_KEY": lambda: secrets.token_urlsafe(32),
    "AIRFLOW__CORE__FERNET_KEY": lambda: _fernet_key(),
}


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _local_secrets(home: Path) -> dict[str, str]:
    path = home / "secrets.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for key, make in _SECRET_SETTINGS.items():
        if key not in data:
            data[key] = make()
            changed = True
    if changed:
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
        path.chmod(0o600)
    return data


def connection_json(url: str) -> str:
    """An Airflow connection (JSON form) for a PostgreSQL URL."""
    u = make_url(url)
    conn = {
        "conn_type": "postgres",
        "host": u.host or "",
        "port": u.port or 5432,
        "login": u.username or "",
        "schema": u.database or "",
    }
    if u.password:
        conn["password"] = u.password
    if u.query:
        conn["extra"] = {k: v for k, v in u.query.items()}
    return json.dumps(conn)


def airflow_env(*, base_url: str | None = None, airflow_db: str | None = None, port: int | None = None) -> dict:
    """Environment variables for Airflow processes started from this checkout."""
    p = paths()
    base = base_url or admin_url()
    home = p.airflow_home
    port = port or env_int("CREDIT_AIRFLOW_PORT", DEFAULT_AIRFLOW_PORT)
    meta = make_url(url_for("airflow", base, database=airflow_db or access.airflow_database()))
    meta = meta.set(drivername="postgresql+psycopg2")
    env = {
        "AIRFLOW_HOME": str(home),
        "CREDIT_HOME": str(p.root),
        "AIRFLOW__CORE__DAGS_FOLDER": str(p.dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(p.plugins),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": os.environ.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": os.environ.get(
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin"
        ),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta.render_as_string(hide_password=False),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__COSMOS__CACHE_DIR": str(p.local / "cosmos"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        **{k: os.environ.get(k) or v for k, v in PLATFORM_SETTINGS.items()},  # the tests keep their DAGs paused
    }
    local = _local_secrets(home)
    for key in _SECRET_SETTINGS:
        env[key] = os.environ.get(key) or local[key]
    for r in ROLES.values():
        if r.component == "airflow":
            continue
        env[f"AIRFLOW_CONN_{r.airflow_conn_id.upper()}"] = connection_json(url_for(r.component, base))
    return env
