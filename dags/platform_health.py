"""
### Platform health (平台健康检查)

Checks, as each component's own database role, that the warehouse answers, that every
migration in this checkout has been applied, and that each role reaches what it must and
nothing more. Run it after a deployment or an upgrade; it fails with the role and the check
that failed.

Owner: data team. Runs daily and on demand.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from credit_platform.orchestration.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=1, retry_delay_minutes=1)


@dag(
    dag_id="platform_health",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["platform", "ops"],
    doc_md=__doc__,
)
def platform_health():
    @task(multiple_outputs=False)
    def migrations_current() -> dict:
        from credit_platform.orchestration.tasks import warehouse_url
        from credit_platform.warehouse.health import check_migrations

        return check_migrations(warehouse_url("loader"))

    @task(multiple_outputs=False)
    def role_boundaries() -> dict:
        from credit_platform.orchestration.tasks import warehouse_url
        from credit_platform.warehouse.health import check_role_boundaries

        return check_role_boundaries(warehouse_url)

    migrations_current() >> role_boundaries()


platform_health()
