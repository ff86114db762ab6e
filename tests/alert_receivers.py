"""Local receivers for the alerts' tests: an SMTP server and an HTTP webhook on 127.0.0.1, each
keeping what it received (the SMTP one through the standard library's smtpd, still in Python 3.11)."""

from __future__ import annotations

import asyncore
import email
import email.policy
import json
import smtpd
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SmtpReceiver(smtpd.SMTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), None, decode_data=False)
        self.port = self.socket.getsockname()[1]
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.2}, daemon=True)
        self._thread.start()

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        self.messages.append(email.message_from_bytes(data, policy=email.policy.default))
        self.recipients.append(list(rcpttos))

    def stop(self):
        self.close()


class WebhookReceiver:
    def __init__(self):
        self.posts: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the handler's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                       "json": json.loads(body.decode("utf-8"))})  # fmt: skip
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def alert_env(smtp: SmtpReceiver, hook: WebhookReceiver, to: str = "data-team@example.org") -> dict[str, str]:
    """The environment that sends alerts to both receivers."""
    return {
        "CREDIT_ALERT_CHANNELS": "email,webhook",
        "CREDIT_ALERT_EMAIL_TO": to,
        "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port,
                                                 "extra": {"disable_tls": True, "disable_ssl": True,
                                                           "from_email": "credit-platform@example.org"}}),
        "AIRFLOW_CONN_CREDIT_ALERTS_WEBHOOK": f"http://127.0.0.1:{hook.port}/hooks/credit",
    }
