"""Airflow plugin: the credit-supervision view (信用监管) in the Airflow UI.

Registers the view's FastAPI app under ``/credit`` on the API server and a navigation entry that
shows it inside the UI. The app itself lives in ``credit_platform/console/``; this file only
registers it. Only the API server builds the app (``fastapi_apps`` is read there); the scheduler
and the DAG processor import this file and build nothing.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class _AppOnFirstRead:
    """``fastapi_apps``, built the first time it is read (only the API server reads it), so that
    the processes that merely load plugins (scheduler, DAG processor, tasks) do not pay the ~1 s
    of building the app."""

    def __init__(self) -> None:
        self._apps: list[dict] | None = None

    def __get__(self, obj, owner=None) -> list[dict]:
        if self._apps is None:
            from credit_platform.console.app import URL_PREFIX, create_app

            self._apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "信用监管 Credit supervision"}]
        return self._apps


class CreditConsolePlugin(AirflowPlugin):
    name = "credit_console"
    fastapi_apps = _AppOnFirstRead()
    external_views = [
        {
            "name": "信用监管",
            "href": "credit/",
            "url_route": "credit-supervision",
            "destination": "nav",
        }
    ]
