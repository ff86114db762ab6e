"""The supervision view's FastAPI app: HTML pages and their JSON API, for authenticated Airflow users.

Mounted by Airflow's API server under ``/credit`` (``plugins/credit_console.py``). Every route
depends on Airflow's own check of the caller (``get_user``): a request without a valid token (the
UI's cookie or an ``Authorization: Bearer`` header) gets 401 before any query runs. The warehouse is
read as the analyst role (``credit_analyst``, from the Airflow connection ``warehouse_analyst``)
in read-only transactions.

| route | what |
|---|---|
| ``/`` | the main page of a period (``?period=``, default the latest graded) |
| ``/departments/{code}`` | a department's figures and subjects in the period (``?page=``, ``?grade_class=``) |
| ``/subjects/{uscc}`` | a subject's grades and their explanation |
| ``/api/overview``, ``/api/departments/{code}``, ``/api/subjects/{uscc}``, ``/api/periods`` | the same as JSON |
"""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

log = logging.getLogger(__name__)

URL_PREFIX = "/credit"


def analyst_url() -> str:
    """The analyst role's warehouse URL, from the Airflow connection ``warehouse_analyst``."""
    from airflow.models.connection import Connection

    from credit_platform.warehouse.roles import role
    from credit_platform.warehouse.urls import libpq_url

    return libpq_url(Connection.get_connection_from_secrets(role("analyst").airflow_conn_id).get_uri())


class WarehouseUnavailable(RuntimeError):
    pass


def _authenticated_dependency():
    """Airflow's own check of the caller (``get_user``: the bearer token, else the UI's cookie),
    answering 401 for any request without a valid token: Airflow answers 403 to a malformed or
    forged token, where a client should be told to authenticate, not that it lacks a permission."""
    from airflow.api_fastapi.core_api.security import get_user

    bearer = Depends(HTTPBearer(auto_error=False))

    async def authenticated(request: Request, credentials: HTTPAuthorizationCredentials | None = bearer):
        try:
            return await get_user(request, None, credentials)
        except HTTPException as exc:
            if exc.status_code in (401, 403):
                raise HTTPException(401, detail=f"{exc.detail}: log in to Airflow first / 请先登录 Airflow",
                                    headers={"WWW-Authenticate": "Bearer"}) from None  # fmt: skip
            raise

    return authenticated


def create_app(url: Callable[[], str] = analyst_url) -> FastAPI:
    """The app; ``url`` gives the warehouse URL each request connects with (read-only)."""
    from credit_platform.console import figures, pages

    app = FastAPI(title="信用分级分类监管 Credit supervision", dependencies=[Depends(_authenticated_dependency())],
                  docs_url=None, redoc_url=None, openapi_url=None)  # fmt: skip

    @contextmanager
    def connect() -> Iterator[psycopg.Connection]:
        try:
            conn = psycopg.connect(url(), connect_timeout=10, options="-c default_transaction_read_only=on"
                                   " -c statement_timeout=60000")  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - any failure to reach the warehouse is told the same way
            log.warning("supervision view: cannot reach the warehouse: %s", exc)
            raise WarehouseUnavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith(f"{request.scope.get('root_path', '')}/api/")

    @app.exception_handler(figures.NotFound)
    def _not_found(request: Request, exc: figures.NotFound):
        if wants_html(request):
            return HTMLResponse(pages.message("未找到 Not found", str(exc)), status_code=404)
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(WarehouseUnavailable)
    def _unavailable(request: Request, exc: WarehouseUnavailable):
        text = (f"数据仓库暂时无法访问，请稍后重试或联系数据组。The warehouse cannot be reached as credit_analyst "
                f"({exc}): check the Airflow connection warehouse_analyst and that the warehouse runs.")  # fmt: skip
        if wants_html(request):
            return HTMLResponse(pages.message("数据仓库无法访问 Warehouse unavailable", text), status_code=503)
        return JSONResponse({"detail": text}, status_code=503)

    def timed(name: str, fn, *args, **kwargs):
        t0 = time.monotonic()
        with connect() as conn:
            out = fn(conn, *args, **kwargs)
        log.info("supervision view: %s in %.2f s", name, time.monotonic() - t0)
        return out

    def _department(conn, code: str, period: str | None, page: int, grade_class: str | None) -> dict:
        now, _ = figures.resolve_period(conn, period)
        return figures.department(conn, code, now, page=page, grade_class=grade_class or None)

    def _subject(conn, uscc: str, period: str | None) -> dict:
        now, _ = figures.resolve_period(conn, period)
        return figures.subject(conn, uscc.strip().upper(), now)

    @app.get("/api/periods")
    def api_periods() -> list[dict]:
        return timed("periods", figures.periods)

    @app.get("/api/overview")
    def api_overview(period: str | None = None) -> dict:
        return timed("overview", figures.overview, period)

    @app.get("/api/departments/{code}")
    def api_department(code: str, period: str | None = None, page: int = Query(1, ge=1),
                       grade_class: str | None = None) -> dict:  # fmt: skip
        return timed("department", _department, code, period, page, grade_class)

    @app.get("/api/subjects/{uscc}")
    def api_subject(uscc: str, period: str | None = None) -> dict:
        return timed("subject", _subject, uscc, period)

    @app.get("/", response_class=HTMLResponse)
    def page_overview(period: str | None = None) -> str:
        return pages.overview(timed("overview", figures.overview, period))

    @app.get("/departments/{code}", response_class=HTMLResponse)
    def page_department(code: str, period: str | None = None, page: int = Query(1, ge=1),
                        grade_class: str | None = None) -> str:  # fmt: skip
        return pages.department(timed("department", _department, code, period, page, grade_class))

    @app.get("/subjects/{uscc}", response_class=HTMLResponse)
    def page_subject(uscc: str, period: str | None = None) -> str:
        return pages.subject(timed("subject", _subject, uscc, period))

    return app
