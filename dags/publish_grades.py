"""
### Publish grades (信用评价结果共享)

Writes the latest period's industry credit grades to each sharing platform's outbox,
`$CREDIT_OUTBOX/<platform>/` (city 信用怀仁 and prefecture 信用朔州: fully public columns;
province: internal columns with scores), UTF-8 CSV with Chinese headers, and records each file in
`ops.publications`. Refuses to publish unless the latest marts checkpoint passed.

Scheduled on the asset `validated_industry_credit_grades`. Runs as `credit_publisher`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from credit_platform.assets import GRADES
from credit_platform.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=2, retry_delay_minutes=5)


@dag(
    dag_id="publish_grades",
    schedule=[GRADES],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["publication"],
    doc_md=__doc__,
)
def publish_grades():
    @task(multiple_outputs=False)
    def publish() -> list[dict]:
        from airflow.exceptions import AirflowFailException

        from credit_platform.airflow_support import warehouse_url
        from credit_platform.publish import PublicationBlocked, publish_grades

        try:
            published = publish_grades(warehouse_url("publisher"))
        except PublicationBlocked as exc:  # a deliberate stop: retrying cannot help
            raise AirflowFailException(f"PublicationBlocked: {exc}") from exc
        return [
            {"platform": p.platform, "level": p.disclosure_level, "period": p.period, "path": str(p.path),
             "rows": p.rows, "status": p.status}
            for p in published
        ]  # fmt: skip

    publish()


publish_grades()
