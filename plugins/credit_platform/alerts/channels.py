"""Where alerts go: e-mail through Airflow's SMTP provider, a webhook, or both (configuration).

Settings (environment, read when an alert is sent):

- ``CREDIT_ALERT_CHANNELS``: ``email``, ``webhook`` or ``email,webhook``; empty (the default):
  alerts are only logged (a warning in the task's log).
- ``CREDIT_ALERT_EMAIL_TO``: the addresses, comma-separated; the SMTP server is the Airflow
  connection ``CREDIT_ALERT_SMTP_CONN_ID`` (default ``smtp_default``: host, port, login, and
  ``from_email``, ``disable_tls``, ``disable_ssl`` in its extra).
- The webhook is the Airflow connection ``CREDIT_ALERT_WEBHOOK_CONN_ID`` (default
  ``credit_alerts_webhook``), e.g. ``AIRFLOW_CONN_CREDIT_ALERTS_WEBHOOK=http://host:port/path``:
  each alert is POSTed there as JSON (``kind``, ``title``, ``text``, ``items``, ``context``).

A channel that cannot be reached is logged and does not stop the others; ``send`` says which
channels took the alert.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import asdict, dataclass, field
from html import escape

log = logging.getLogger(__name__)

CHANNELS = ("email", "webhook")


@dataclass
class Alert:
    kind: str  # task_failed, digest
    title: str
    text: str
    items: list[dict] = field(default_factory=list)
    context: dict = field(default_factory=dict)  # dag_id, task_id, run_id, try_number, log_url ...


def configured() -> list[str]:
    raw = [c.strip().lower() for c in os.environ.get("CREDIT_ALERT_CHANNELS", "").split(",") if c.strip()]
    unknown = [c for c in raw if c not in CHANNELS]
    if unknown:
        raise ValueError(f"CREDIT_ALERT_CHANNELS: unknown channel(s) {', '.join(unknown)};"
                         f" known: {', '.join(CHANNELS)}")
    return raw


def _connection(conn_id: str):
    try:
        from airflow.sdk import Connection

        return Connection.get(conn_id)
    except Exception:  # noqa: BLE001 - outside a task (API server, CLI) the core's lookup answers
        from airflow.models.connection import Connection as CoreConnection

        return CoreConnection.get_connection_from_secrets(conn_id)


def webhook_url() -> str:
    """The webhook's address, from its Airflow connection (``http://host:port/path`` as a URI)."""
    conn = _connection(os.environ.get("CREDIT_ALERT_WEBHOOK_CONN_ID", "credit_alerts_webhook"))
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "http"
    port = f":{conn.port}" if conn.port else ""
    path = "/" + conn.schema.lstrip("/") if conn.schema else ""
    return f"{scheme}://{conn.host}{port}{path}"


def _post(alert: Alert) -> None:
    body = json.dumps(asdict(alert), ensure_ascii=False, default=str).encode("utf-8")
    req = urllib.request.Request(webhook_url(), data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=15) as resp:
        if resp.status >= 300:
            raise RuntimeError(f"the webhook answered {resp.status}")


def html(alert: Alert) -> str:
    rows = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in item.values()) + "</tr>"
                   for item in alert.items)  # fmt: skip
    head = "".join(f"<th>{escape(k)}</th>" for k in (alert.items[0] if alert.items else {}))
    table = f"<table border='1' cellpadding='4' cellspacing='0'><tr>{head}</tr>{rows}</table>" if rows else ""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in alert.text.split("\n\n"))
    return f"<html><body><h3>{escape(alert.title)}</h3>{paragraphs}{table}</body></html>"


def _mail(alert: Alert) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    to = [a.strip() for a in os.environ.get("CREDIT_ALERT_EMAIL_TO", "").split(",") if a.strip()]
    if not to:
        raise ValueError("CREDIT_ALERT_EMAIL_TO names no address")
    conn_id = os.environ.get("CREDIT_ALERT_SMTP_CONN_ID", "smtp_default")
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=to, subject=alert.title, html_content=html(alert),
                             from_email=hook.from_email or "credit-platform@localhost")  # fmt: skip


def send(alert: Alert) -> list[str]:
    """Send ``alert`` to every configured channel; returns those that took it."""
    log.warning("alert (%s): %s\n%s", alert.kind, alert.title, alert.text)
    took = []
    for channel in configured():
        try:
            (_mail if channel == "email" else _post)(alert)
            took.append(channel)
        except Exception as exc:  # noqa: BLE001 - one channel down must not silence the other
            log.error("alert not sent by %s: %s", channel, exc)
    return took
