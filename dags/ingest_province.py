"""
### Ingest province pushes (省公共信用综合评价结果)

First pulls what the credit portal's API has updated since the last pull, when the Airflow
connection `credit_portal` is configured (host, port, the token as password; see
`credit_platform/ingest/pull.py`), as one JSON file into the inbox. Then loads every new file in
`$CREDIT_INBOX/province/` (GB18030 or UTF-8 CSV, XLSX, JSON) into
`raw.province_evaluations`, one mapped task per file. Each file becomes a batch in
`ops.load_batches` (name, SHA-256, rows read, loaded, rejected, status); rejected rows go to
`ops.rejected_rows` with their reason; the original is archived under `$CREDIT_ARCHIVE/<sha256>`.
Each batch then passes the raw quality gate or is quarantined (see `ingest_departments`): its
task fails at once, naming the file and the failed checks. A file already loaded (or
quarantined), unchanged in size and time, is not picked up again; one whose batch an earlier run
left `landed` (killed before its gate decided) has that batch gated, not loaded again. When something new was
loaded, the asset `raw_province_evaluations` is updated (also when another file failed), which
queues `grade_industries`; a failed file fails its own task and so the run (its last task,
`every_file_loaded`, runs only when every file loaded and passed the gate).

Run by hand: drop a file in the inbox, then `airflow dags test ingest_province`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from credit_platform.orchestration.assets import RAW_PROVINCE
from credit_platform.orchestration.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=2, retry_delay_minutes=2)


@dag(
    dag_id="ingest_province",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ingest", "province"],
    doc_md=__doc__,
)
def ingest_province():
    @task(multiple_outputs=False)
    def pull() -> dict:
        from credit_platform.orchestration.tasks import pull_from_portal

        return pull_from_portal()

    @task(multiple_outputs=False)
    def discover() -> list[str]:
        from credit_platform.ingest.loader import pending
        from credit_platform.orchestration.tasks import warehouse_url

        return pending(warehouse_url("loader"), prefix="province")

    @task(multiple_outputs=False)
    def load(relative: str) -> dict:
        from credit_platform.ingest.loader import load_file
        from credit_platform.orchestration.tasks import fail_if_quarantined, warehouse_url

        return fail_if_quarantined(lambda: load_file(warehouse_url("loader"), relative)).as_dict()

    # Runs when every file is done, failed ones included, so that what did load reaches grading.
    @task(outlets=[RAW_PROVINCE], multiple_outputs=False, trigger_rule="all_done")
    def summarise(results: list[dict | None]) -> dict:
        from credit_platform.orchestration.tasks import skip_unless_loaded

        return skip_unless_loaded([r for r in results if r], prefix="province")

    # The run's outcome: reached only when every file loaded and passed the raw gate, so a failed or
    # quarantined file fails the run (after summarise has let the rest reach grading).
    @task(multiple_outputs=False)
    def every_file_loaded(summary: dict) -> dict:
        return summary

    files = discover()
    pull() >> files
    loads = load.expand(relative=files)
    loads >> every_file_loaded(summarise(loads))


ingest_province()
