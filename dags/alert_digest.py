"""
### Daily overdue digest (每日逾期汇总)

Once a day, one message to the data team listing what is overdue: inspection results not
published by their deadline (一公开), objections not answered by their reply deadline, and
supervision measures not recorded as applied by theirs, each with its department and subject.
Nothing is sent on a day when nothing is overdue. Where it goes: `CREDIT_ALERT_CHANNELS`
(e-mail through the SMTP connection, a webhook), as for the alerts every task sends when it fails.

Owner: data team. Runs daily at 08:00 Asia/Shanghai.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from credit_platform.orchestration.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=2, retry_delay_minutes=10)


@dag(
    dag_id="alert_digest",
    schedule="0 8 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["platform", "alerts"],
    doc_md=__doc__,
)
def alert_digest():
    @task(multiple_outputs=False)
    def send_overdue_digest() -> dict:
        from credit_platform.orchestration.tasks import overdue_digest

        return overdue_digest()

    send_overdue_digest()


alert_digest()
