"""
### Publish grades and records (信用评价结果及双公示信息共享)

Shares what changed since each platform's last acknowledgement: the industry credit grades at each
industry's disclosure level, the 双公示 penalties and licences and the commendations still in
their publication window, the credit commitments whose subject consented, and each 信用+ partner's
list (the consenting subjects of the classes its programme admits), with withdrawals for
records whose window ended, records repaired, consents withdrawn and grades corrected
(configuration: `plugins/credit_platform/publish/publication.yml`).

1. `prepare`: refuses unless the latest marts checkpoint passed and the period is not held back by
   drift; rebuilds the `publish` schema aside, withholding (and logging, `ops.publication_withheld`)
   each record that carries a resident ID number; runs the publication checkpoint (no ID numbers,
   only each level's columns, for every platform and view) before anything leaves; then swaps the
   tables and the public and authorised views in.
2. `send`, one mapped task per platform of `publication.yml` (city 信用怀仁, prefecture 信用朔州,
   province, the 信用+ partners), run side by side: resends any batch an earlier
   run left unacknowledged and sends the new changes, one batch per dataset, as files into
   `$CREDIT_OUTBOX/<platform>/` or HTTP POSTs to the platform's Airflow connection, each batch with
   its manifest (its columns with their Chinese names and codes) and idempotency key. A platform
   that does not answer is retried with backoff inside its task, then by Airflow; its task fails
   naming it after the last retry (the other platforms' tasks are not held back), and its batch
   goes again next time.
3. `department_workbooks`: each department's Excel list of its subjects' grades
   (`$CREDIT_OUTBOX/departments/<code>/`), whether or not every platform answered.
4. `results_due` (一公开): after sending, lists the inspection results returned for public plans
   that the city platform has not acknowledged although their deadline (the department's
   `results_deadline_workdays` working days after the inspection) has passed. It warns; it
   does not fail the run.
5. `explanation_letters`: a 信用评价说明书 (HTML) for every subject whose class changed from the
   previous period, into its department's outbox folder (`letters_<date>/`), each written once.
6. `cases_due`: lists the objections (异议) and repair applications (信用修复申请) not answered by
   their reply deadline (`credit-platform objection list --overdue`). It warns; it does not fail.

The inspection plans and their results (dataset `inspections`) go at each department's
disclosure setting. Receipts and failures: `ops.publications`. Scheduled on the assets
`validated_industry_credit_grades` or `inspection_plans`. Runs as `credit_publisher`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from credit_platform.orchestration.assets import GRADES, INSPECTION_PLANS, PUBLICATIONS
from credit_platform.orchestration.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=2, retry_delay_minutes=5, heavy=True)


@dag(
    dag_id="publish_grades",
    schedule=(GRADES | INSPECTION_PLANS),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["publication"],
    doc_md=__doc__,
)
def publish_grades():
    @task(multiple_outputs=False)
    def prepare() -> dict:
        from credit_platform.orchestration.tasks import prepare_publication

        return prepare_publication()

    @task
    def platforms() -> list[str]:
        from credit_platform.orchestration.tasks import publication_platforms

        return publication_platforms()

    @task(multiple_outputs=False, map_index_template="{{ platform }}", outlets=[PUBLICATIONS])
    def send(platform: str) -> dict:
        from airflow.sdk import get_current_context

        from credit_platform.orchestration.tasks import send_to_platform

        get_current_context()["platform"] = platform  # the mapped instance's name in the UI
        return send_to_platform(platform)

    @task
    def department_workbooks() -> list[dict]:
        from credit_platform.orchestration.tasks import department_workbooks

        return department_workbooks()

    @task(multiple_outputs=False)
    def results_due() -> dict:
        from credit_platform.orchestration.tasks import results_due

        return results_due()

    @task(multiple_outputs=False)
    def explanation_letters() -> dict:
        from credit_platform.orchestration.tasks import explanation_letters

        return explanation_letters()

    @task(multiple_outputs=False)
    def cases_due() -> dict:
        from credit_platform.orchestration.tasks import cases_due

        return cases_due()

    ready = prepare()
    names = platforms()
    sent = send.expand(platform=names)
    ready >> [names, department_workbooks(), explanation_letters()]
    sent >> [results_due(), cases_due()]


publish_grades()
