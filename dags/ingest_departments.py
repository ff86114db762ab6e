"""
### Ingest department records (部门信用信息)

Loads the new or changed files in `$CREDIT_INBOX/departments/<department_code>/` (a file already
loaded, unchanged in size and time, is left alone): the subject register, supervision scopes,
inspector rosters, inspection matters, 双公示 penalties and licences, the serious-dishonesty list,
commendations, commitments, inspection results, credit repairs, complaints, external grades and
manual adjustments. One mapped task per department: a broken file fails its own department's task,
with the file and the cause in the log, and the other departments carry on; a retry loads only what
the failed try did not. Every batch then passes the raw quality gate (Great Expectations,
`expectations/raw.py`) or is quarantined: a required column missing, more than
`CREDIT_MAX_REJECTED_SHARE` (default 20%) of its rows rejected, or kept rows breaking the raw suite.
A quarantined batch feeds no grade; its task fails at once (no retry) naming the file, the failed
checks and the Data Docs page; `ops.load_batches` records why. A batch feeds grading only once it
has passed (status `loaded`); one an earlier run left `landed` (killed before its gate decided, or
its checks could not run) is gated by this run. Batches, rejected rows and archived
originals as in `ingest_province`. When something new was loaded, the asset `raw_department_records`
is updated (also when some department failed), which queues `grade_industries`; the run itself then
ends failed, so the failure stays visible (its last task, `every_file_loaded`, runs only when every
department's files loaded and passed the gate).

Run by hand: drop a file in a department's folder, then `airflow dags test ingest_departments`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from credit_platform.orchestration.assets import RAW_DEPARTMENTS
from credit_platform.orchestration.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=2, retry_delay_minutes=2)


@dag(
    dag_id="ingest_departments",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ingest", "departments"],
    doc_md=__doc__,
)
def ingest_departments():
    @task(multiple_outputs=False)
    def discover() -> list[str]:
        from credit_platform.ingest.loader import departments_with_files
        from credit_platform.orchestration.tasks import warehouse_url

        return departments_with_files(warehouse_url("loader"))

    @task(multiple_outputs=False, map_index_template="{{ task.op_kwargs['department_code'] }}")
    def load_department(department_code: str) -> list[dict]:
        from credit_platform.orchestration.tasks import load_department_files

        return load_department_files(department_code)

    # Runs when every department is done, failed ones included, so that what did load reaches grading.
    @task(outlets=[RAW_DEPARTMENTS], multiple_outputs=False, trigger_rule="all_done")
    def summarise(results: list[list[dict] | None]) -> dict:
        from credit_platform.orchestration.tasks import skip_unless_loaded

        return skip_unless_loaded([r for per_department in results if per_department for r in per_department],
                                  prefix="departments")  # fmt: skip

    # The run's outcome: reached only when every department's files loaded and passed the raw gate, so
    # a failed or quarantined file fails the run (after summarise has let the rest reach grading).
    @task(multiple_outputs=False)
    def every_file_loaded(summary: dict) -> dict:
        return summary

    loads = load_department.expand(department_code=discover())
    loads >> every_file_loaded(summarise(loads))


ingest_departments()
