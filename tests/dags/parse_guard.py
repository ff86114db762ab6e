"""Parse a DAG folder with every database connection and Variable read made to fail.

Run as a script: ``python parse_guard.py DAG_FOLDER``. Prints JSON with the DAG ids found, the
import errors, and how long each file took. Used by ``test_dag_integrity.py``; a DAG file that
opens a connection or reads a Variable at parse time shows up as an import error here.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path


class ParseTimeAccess(RuntimeError):
    pass


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise ParseTimeAccess(f"DAG-parse-time access refused: {what}")

    return refuse


def install_guards() -> None:
    socket.socket.connect = _refuse("network or database connection")  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse("network or database connection")  # type: ignore[method-assign]
    socket.create_connection = _refuse("network or database connection")

    import psycopg
    import psycopg2

    psycopg.connect = _refuse("psycopg.connect")
    psycopg.Connection.connect = classmethod(_refuse("psycopg.Connection.connect"))
    psycopg2.connect = _refuse("psycopg2.connect")

    import airflow.sdk
    from airflow.models import variable as model_variable

    airflow.sdk.Variable.get = staticmethod(_refuse("Variable.get"))
    model_variable.Variable.get = classmethod(_refuse("Variable.get"))
    airflow.sdk.Connection.get = classmethod(_refuse("Connection.get"))


def main(folder: str) -> None:
    install_guards()
    from airflow.dag_processing.dagbag import DagBag

    timings = {}
    dag_ids: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for path in sorted(Path(folder).glob("*.py")):
        t0 = time.perf_counter()
        bag = DagBag(dag_folder=str(path))
        timings[path.name] = round(time.perf_counter() - t0, 3)
        dag_ids[path.name] = sorted(bag.dag_ids)
        errors.update({Path(k).name: str(v) for k, v in bag.import_errors.items()})
    print(json.dumps({"dag_ids": dag_ids, "errors": errors, "seconds": timings}))


if __name__ == "__main__":
    main(sys.argv[1])
