"""Getting a batch to a platform: a file drop into ``$CREDIT_OUTBOX/<platform>/`` or an HTTP POST.

A file drop writes the file and its manifest aside and renames them into place, so the platform's
collector never sees half a file; writing the same batch again leaves the same bytes. An HTTP POST
carries the batch's idempotency key (``Idempotency-Key``) and its sha256, and is retried with a
doubling wait on a timeout, a refused connection or a 5xx (and 408/429); any other answer is final.
Only the standard library is used (``urllib``).
"""

from __future__ import annotations

import filecmp
import logging
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from credit_platform.publish.config import Retry

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 429}


class DeliveryFailed(RuntimeError):
    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True)
class Endpoint:
    url: str
    token: str | None = None


def endpoint_from_connection(conn) -> Endpoint:
    """The endpoint of an Airflow connection (``credit_platform.connections.http_base``)."""
    from credit_platform.connections import http_base

    url, token, _extra = http_base(conn)
    return Endpoint(url, token)


def write_atomically(path: Path, content: bytes) -> None:
    """``content`` at ``path``, written aside and renamed into place (left alone when already there)."""
    if path.exists() and path.read_bytes() == content:
        return
    part = path.with_name(path.name + ".part")
    part.write_bytes(content)
    part.replace(path)


def drop_file(folder: Path, name: str, data: bytes, manifest: bytes) -> str:
    """``data`` as ``name`` and its manifest into ``folder``, each written aside and renamed into place."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / name, data)
    write_atomically(folder / f"{name}.manifest.json", manifest)
    return f"written {folder / name}"


def drop_path(folder: Path, source: Path, manifest: bytes) -> str:
    """The batch file ``source`` (copied in chunks, never read whole) and its manifest into ``folder``,
    under the same name; a file already there with the same bytes is left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if not (target.exists() and filecmp.cmp(source, target, shallow=False)):
        part = target.with_name(target.name + ".part")
        shutil.copyfile(source, part)
        part.replace(target)
    write_atomically(folder / f"{source.name}.manifest.json", manifest)
    return f"written {target}"


def post(endpoint: Endpoint, data: bytes, *, content_type: str, key: str, sha256: str, retry: Retry,
         sleep: Callable[[float], None] = time.sleep) -> tuple[str, int]:  # fmt: skip
    """POST until the platform acknowledges (2xx); returns (its answer, attempts). Raises
    DeliveryFailed after the last attempt or on a final refusal."""
    headers = {"Content-Type": content_type, "Idempotency-Key": key, "X-Content-SHA256": sha256}
    if endpoint.token:
        headers["Authorization"] = f"Bearer {endpoint.token}"
    last = ""
    for attempt in range(1, retry.attempts + 1):
        request = urllib.request.Request(endpoint.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=retry.timeout_seconds) as resp:  # noqa: S310 - configured
                body = resp.read(4000).decode("utf-8", "replace")
            return f"HTTP {resp.status}: {body}".strip(), attempt
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500 and exc.code not in RETRYABLE_STATUS:
                raise DeliveryFailed(f"{endpoint.url} refused batch {key}: {last}", attempt) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            last = f"no answer ({type(reason).__name__}: {reason})"
        if attempt < retry.attempts:
            wait = retry.backoff_seconds * 2 ** (attempt - 1)
            log.warning("%s: attempt %d of %d for batch %s failed: %s; again in %.1f s", endpoint.url, attempt,
                        retry.attempts, key, last, wait)  # fmt: skip
            sleep(wait)
    raise DeliveryFailed(f"{endpoint.url}: batch {key} not acknowledged after {retry.attempts} attempts: {last}",
                         retry.attempts)  # fmt: skip
