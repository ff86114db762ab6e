"""Where things live and how they are configured: every setting comes from the environment.

Each environment variable is documented in the project README and in ``.env.example``.
Nothing here touches the disk or the network when imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EMBEDDED_PORT = 54329
DEFAULT_WAREHOUSE_DB = "credit"
DEFAULT_AIRFLOW_DB = "airflow"
DEFAULT_AIRFLOW_PORT = 8080


def project_root() -> Path:
    """The checkout (or deployment folder) holding ``dags/``, ``dbt_project/`` and ``plugins/``.

    ``CREDIT_HOME`` wins; otherwise the folder two levels above this package when it is the
    source tree (an editable install, or Airflow's plugins folder); otherwise the working directory.
    """
    env = os.environ.get("CREDIT_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "dags").is_dir() and (here / "plugins").is_dir():
        return here
    return Path.cwd().resolve()


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def local(self) -> Path:
        """Project-local state that is never committed: the embedded server, Airflow's home, logs."""
        return Path(os.environ.get("CREDIT_LOCAL_DIR", self.root / ".local")).resolve()

    @property
    def pgdata(self) -> Path:
        return self.local / "pgdata"

    @property
    def warehouse_passfile(self) -> Path:
        """The embedded warehouse's passwords (a libpq password file, mode 0600); never committed."""
        return self.local / "warehouse.pgpass"

    @property
    def run(self) -> Path:
        """Pid files and process logs of the services that ``credit-platform`` starts."""
        return self.local / "run"

    @property
    def airflow_home(self) -> Path:
        return Path(os.environ.get("AIRFLOW_HOME", self.local / "airflow")).resolve()

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def plugins(self) -> Path:
        return self.root / "plugins"

    @property
    def dbt_project(self) -> Path:
        return self.root / "dbt_project"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def inbox(self) -> Path:
        """Arriving files: ``province/`` for pushes, ``departments/<department_code>/`` for records."""
        return Path(os.environ.get("CREDIT_INBOX", self.data / "inbox")).resolve()

    @property
    def archive(self) -> Path:
        """Every loaded original, stored once under its SHA-256."""
        return Path(os.environ.get("CREDIT_ARCHIVE", self.data / "archive")).resolve()

    @property
    def outbox(self) -> Path:
        """Publications: ``<platform>/`` for ``city``, ``prefecture`` and ``province``."""
        return Path(os.environ.get("CREDIT_OUTBOX", self.data / "outbox")).resolve()


TIMEZONE = "Asia/Shanghai"


def today():
    """Today's date in the city's time zone (event dates after it are in the future)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def paths() -> Paths:
    return Paths(project_root())


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {value!r}") from exc
