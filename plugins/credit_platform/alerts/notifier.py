"""The Airflow 3 notifier every DAG's tasks call when they fail (``on_failure_callback``).

``CreditAlertNotifier`` is an ``airflow.sdk.BaseNotifier``: Airflow renders its templated fields
with the task's context and calls ``notify``. The alert names the DAG, task, run and try, says what
went wrong (the exception's message: a quarantined batch, a publication held by the drift gate, a
refused role ...), and links to the task's log in the UI.
"""

from __future__ import annotations

from airflow.sdk import BaseNotifier

from credit_platform.alerts.channels import Alert, send


class CreditAlertNotifier(BaseNotifier):
    template_fields = ("title",)

    def __init__(self, title: str = "[信用平台] 任务失败 Task failed: {{ ti.dag_id }}.{{ ti.task_id }}") -> None:
        super().__init__()
        self.title = title

    def notify(self, context) -> None:
        ti = context.get("ti") or context.get("task_instance")
        exc = context.get("exception")
        what = (str(exc).strip() or type(exc).__name__) if exc is not None else "no exception recorded"
        facts = {
            "dag_id": getattr(ti, "dag_id", None), "task_id": getattr(ti, "task_id", None),
            "run_id": getattr(ti, "run_id", None), "try_number": getattr(ti, "try_number", None),
            "map_index": getattr(ti, "map_index", None), "log_url": getattr(ti, "log_url", None),
        }  # fmt: skip
        text = (f"任务失败，请查看日志并处理。A task failed: {facts['dag_id']}.{facts['task_id']},"
                f" run {facts['run_id']}, try {facts['try_number']}.\n\n{what}\n\n"
                f"日志 Log: {facts['log_url'] or 'in the Airflow UI'}")  # fmt: skip
        send(Alert("task_failed", self.title, text, context=facts))
