"""Alerts reach the data team: a task that fails for good sends its alert by e-mail (Airflow's SMTP
provider) and to a webhook, both local receivers on 127.0.0.1; one channel down does not silence the
other. (The daily digest of overdue items is tested in test_console.py, on its city of known counts.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alert_receivers import SmtpReceiver, WebhookReceiver, alert_env, wait_for

from credit_platform.warehouse.urls import libpq_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent


@pytest.fixture
def receivers():
    smtp, hook = SmtpReceiver(), WebhookReceiver()
    yield smtp, hook
    smtp.stop()
    hook.stop()


def _tasks_test(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "airflow"), "tasks", "test", "platform_health", "role_boundaries"],
                          env={**os.environ, **env, "CREDIT_TASK_RETRIES": "0"}, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_a_failed_task_alerts_by_email_and_webhook(airflow_test_env, warehouse, receivers):
    smtp, hook = receivers
    with psycopg.connect(libpq_url(warehouse), autocommit=True) as admin:
        admin.execute("GRANT CREATE ON SCHEMA marts TO credit_analyst")  # a stray grant: the health task fails
        try:
            res = _tasks_test({**airflow_test_env, **alert_env(smtp, hook)})
        finally:
            admin.execute("REVOKE CREATE ON SCHEMA marts FROM credit_analyst")
    out = res.stdout + res.stderr
    assert "Task failed with exception" in out, out[-3000:]
    assert wait_for(lambda: smtp.messages and hook.posts), out[-3000:]

    mail = smtp.messages[0]
    assert smtp.recipients[0] == ["data-team@example.org"]
    assert mail["Subject"] == "[信用平台] 任务失败 Task failed: platform_health.role_boundaries"
    body = mail.get_body(("html",)).get_content()
    assert "analyst: schema privileges" in body and "任务失败" in body

    post = hook.posts[0]
    assert post["path"] == "/hooks/credit" and post["content_type"].startswith("application/json")
    alert = post["json"]
    assert alert["kind"] == "task_failed"
    assert (alert["context"]["dag_id"], alert["context"]["task_id"]) == ("platform_health", "role_boundaries")
    assert "analyst: schema privileges" in alert["text"]
    assert len(smtp.messages) == len(hook.posts) == 1  # one alert per failure, not one per try or channel


def test_one_channel_down_does_not_silence_the_other(airflow_test_env, warehouse, receivers):
    smtp, hook = receivers
    env = {**airflow_test_env, **alert_env(smtp, hook), "AIRFLOW_CONN_SMTP_DEFAULT": "smtp://127.0.0.1:9"}
    with psycopg.connect(libpq_url(warehouse), autocommit=True) as admin:
        admin.execute("GRANT CREATE ON SCHEMA marts TO credit_analyst")
        try:
            res = _tasks_test(env)
        finally:
            admin.execute("REVOKE CREATE ON SCHEMA marts FROM credit_analyst")
    out = res.stdout + res.stderr
    assert wait_for(lambda: hook.posts), out[-3000:]
    assert not smtp.messages
    assert "alert not sent by email" in out
