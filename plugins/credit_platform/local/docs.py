"""The documentation site analysts browse (``make docs``): dbt's docs and Great Expectations' Data Docs.

Layout of the site folder (``$CREDIT_LOCAL_DIR/docs`` unless told otherwise)::

    index.html          the landing page, written here: one link per documentation set present
    dbt/                dbt's docs: index.html, static_index.html (one self-contained file),
                        manifest.json, catalog.json
    gx/                 Great Expectations Data Docs: every checkpoint run (raw, marts) adds its
                        validation results here (``credit_platform.quality.checkpoints``)

``dbt docs generate`` compiles the project and reads the warehouse's catalogue (which relations
exist, their column types), so the warehouse must be up; it writes into a target folder of its own
(``$CREDIT_LOCAL_DIR/dbt-docs/target``), never ``dbt_project/target``, which Airflow, ``make`` and
the tests use at the same time. The site is served with the standard library's ``http.server``
on 127.0.0.1 only. Nothing here runs at import.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from credit_platform.settings import env_int, paths

log = logging.getLogger(__name__)

DEFAULT_DOCS_PORT = 8081
#: What dbt writes that the site needs (``static_index.html`` embeds the other three in one file).
DBT_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")
#: The folder a mart's models live in; a mart missing from the catalogue means an unbuilt warehouse.
MARTS_FOLDER = "marts"


def docs_port() -> int:
    """The port ``credit-platform docs`` serves on: ``CREDIT_DOCS_PORT`` or 8081."""
    return env_int("CREDIT_DOCS_PORT", DEFAULT_DOCS_PORT)


def site_dir() -> Path:
    """The served folder: ``$CREDIT_LOCAL_DIR/docs``."""
    return paths().local / "docs"


def dbt_work_dir() -> Path:
    """Where ``dbt docs generate`` writes its target and logs, away from ``dbt_project/target``."""
    return paths().local / "dbt-docs"


@dataclass
class DocsBuild:
    site: Path
    seconds: float
    models: int = 0
    sources: int = 0
    seeds: int = 0
    catalogued: int = 0
    #: marts models the warehouse does not hold (built later by ``make demo`` or ``dbt build``)
    unbuilt_marts: list[str] = field(default_factory=list)
    has_gx: bool = False


class DocsError(RuntimeError):
    """dbt could not generate the docs."""


def generate_dbt_docs(base_url: str | None = None, *, work_dir: Path | None = None) -> Path:
    """Run ``dbt docs generate --static`` as the transformer role; returns the target folder it wrote."""
    from credit_platform.grading.dbt_runner import run_dbt

    work = work_dir or dbt_work_dir()
    target, logs = work / "target", work / "logs"
    target.mkdir(parents=True, exist_ok=True)
    res = run_dbt(
        ["docs", "generate", "--static", "--target-path", str(target), "--log-path", str(logs)],
        base_url=base_url,
        capture=True,
    )
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-25:])
        raise DocsError(f"dbt docs generate failed (exit {res.returncode}); full log in {logs}/dbt.log:\n{tail}")
    missing = [f for f in DBT_FILES if not (target / f).is_file()]
    if missing:
        raise DocsError(f"dbt docs generate wrote no {', '.join(missing)} in {target}")
    return target


def build_site(base_url: str | None = None, *, site: Path | None = None, work_dir: Path | None = None) -> DocsBuild:
    """Generate dbt's docs against the warehouse and lay out the site folder. Returns what it holds."""
    t0 = time.monotonic()
    site = site or site_dir()
    target = generate_dbt_docs(base_url, work_dir=work_dir)
    dbt_dir = site / "dbt"
    dbt_dir.mkdir(parents=True, exist_ok=True)
    for name in DBT_FILES:
        # copy to a temporary name and rename: a page being served never sees half a file
        part = dbt_dir / f".{name}.part"
        shutil.copyfile(target / name, part)
        part.replace(dbt_dir / name)
    build = describe(site)
    write_landing_page(site)
    build.seconds = time.monotonic() - t0
    return build


def describe(site: Path) -> DocsBuild:
    """What the site's dbt docs hold, and which marts the catalogue lacks (an unbuilt warehouse)."""
    manifest = json.loads((site / "dbt" / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((site / "dbt" / "catalog.json").read_text(encoding="utf-8"))
    nodes = manifest["nodes"].values()
    models = [n for n in nodes if n["resource_type"] == "model" and n["package_name"] == manifest_project(manifest)]
    marts = sorted(n["unique_id"] for n in models if Path(n["original_file_path"]).parts[1:2] == (MARTS_FOLDER,))
    return DocsBuild(
        site=site,
        seconds=0.0,
        models=len(models),
        sources=len(manifest["sources"]),
        seeds=sum(1 for n in nodes if n["resource_type"] == "seed"),
        catalogued=len(catalog.get("nodes", {})) + len(catalog.get("sources", {})),
        unbuilt_marts=[uid.rsplit(".", 1)[-1] for uid in marts if uid not in catalog.get("nodes", {})],
        has_gx=(site / "gx").is_dir(),
    )


def manifest_project(manifest: dict) -> str:
    return manifest["metadata"].get("project_name") or "credit_platform"


def write_landing_page(site: Path) -> Path:
    """The site's ``index.html``: a link to each documentation set the site holds."""
    entries = [
        (
            "dbt/index.html",
            "Warehouse models, seeds and sources (dbt docs)",
            "数据仓库模型、规则种子表与数据源: every mart, column and rule with its description, "
            "lineage, SQL and tests. "
            '<a href="dbt/static_index.html">Single-file version</a> (works without this server).',
        ),
    ]
    # --- Great Expectations Data Docs ------------------------------------------------------------
    # The checkpoints write their Data Docs into <site>/gx/ as they run; the landing page links to
    # them (their index.html, else the folder's listing) once the first validation has run.
    gx = site / "gx"
    if gx.is_dir():
        entries.append(
            (
                "gx/index.html" if (gx / "index.html").is_file() else "gx/",
                "Data quality checks (Great Expectations Data Docs)",
                "数据质量校验: every checkpoint run of the raw stage (the batch records and each raw table of a"
                " load) and of the marts stage, failures with their unexpected rows, and the suites;"
                " ops.validation_runs links each run's pages.",
            )
        )
    # ----------------------------------------------------------------------------------------------
    items = "\n".join(
        f'    <li><a href="{html.escape(href)}">{html.escape(title)}</a><br>{text}</li>'
        for href, title, text in entries
    )
    page = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Credit grading platform: documentation</title>
  <style>body {{ font-family: sans-serif; max-width: 48rem; margin: 2rem auto; line-height: 1.5; }}
  li {{ margin-bottom: 1rem; }}</style>
</head>
<body>
  <h1>信用分级分类监管平台: documentation</h1>
  <p>Generated {html.escape(time.strftime("%Y-%m-%d %H:%M"))} by <code>make docs</code>.</p>
  <ul>
{items}
  </ul>
</body>
</html>
"""
    site.mkdir(parents=True, exist_ok=True)
    out = site / "index.html"
    part = site / ".index.html.part"
    part.write_text(page, encoding="utf-8")
    part.replace(out)
    return out


class _Handler(SimpleHTTPRequestHandler):
    """Static files, never cached by the browser (the docs change on every ``make docs``)."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        log.debug("%s %s", self.address_string(), format % args)


def make_server(site: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server for the site folder (port 0: a free one). Call ``serve_forever()``, then ``shutdown()``."""
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"no documentation site in {site}: run make docs")
    handler = functools.partial(_Handler, directory=str(site))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise OSError(
            f"cannot serve on {host}:{port} ({exc.strerror}): choose another with --port or CREDIT_DOCS_PORT"
        ) from exc


def server_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
