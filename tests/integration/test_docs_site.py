"""``make docs``: the documentation site analysts browse, built from a real warehouse and served.

A copy of the tests' graded city (every relation built by dbt), then
``credit_platform.local.docs.build_site`` against it, into scratch folders: nothing is written to
``dbt_project/target`` or ``.local``.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import pytest

from credit_platform.local import docs

GRADES = "model.credit_platform.fct_industry_credit_grades"


@pytest.fixture(scope="module")
def site(graded_city, tmp_path_factory) -> docs.DocsBuild:
    work = tmp_path_factory.mktemp("docs")
    with graded_city("docs") as city:
        yield docs.build_site(city["url"], site=work / "site", work_dir=work / "dbt-docs")


@pytest.mark.integration
def test_the_site_holds_dbt_docs_whose_catalog_lists_the_grades(site):
    root = site.site
    for name in docs.DBT_FILES:
        assert (root / "dbt" / name).stat().st_size > 0, name
    manifest = json.loads((root / "dbt" / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((root / "dbt" / "catalog.json").read_text(encoding="utf-8"))
    assert GRADES in manifest["nodes"]
    grades = catalog["nodes"][GRADES]
    assert grades["metadata"]["schema"] == "marts"
    assert {"uscc", "industry_code", "evaluation_period", "score", "grade"} <= set(grades["columns"])
    assert site.unbuilt_marts == []
    landing = (root / "index.html").read_text(encoding="utf-8")
    assert 'href="dbt/index.html"' in landing and 'href="dbt/static_index.html"' in landing
    assert "gx/" not in landing  # no Great Expectations Data Docs yet, so no link to them


@pytest.mark.integration
def test_every_documented_column_is_a_real_column_of_the_warehouse(site):
    """Marts, seeds and sources as the warehouse holds them: documented columns = catalogued columns."""
    manifest = json.loads((site.site / "dbt" / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((site.site / "dbt" / "catalog.json").read_text(encoding="utf-8"))
    checked = [
        (uid, node) for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "seed"
        or (node["resource_type"] == "model" and Path(node["original_file_path"]).parts[:2] == ("models", "marts"))
    ] + list(manifest["sources"].items())  # fmt: skip
    problems = []
    for uid, node in checked:
        entry = catalog["sources" if uid.startswith("source.") else "nodes"].get(uid)
        if entry is None:
            problems.append(f"{uid}: not in the warehouse")
            continue
        real = {c.lower() for c in entry["columns"]}
        documented = {c.lower() for c in node["columns"]}
        problems += [f"{uid}.{c}: in the warehouse, not documented" for c in sorted(real - documented)]
        problems += [f"{uid}.{c}: documented, not in the warehouse" for c in sorted(documented - real)]
    assert not problems, "\n".join(problems)


@pytest.mark.integration
def test_the_site_is_served_on_127_0_0_1(site):
    server = docs.make_server(site.site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = docs.server_url(server)
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and "dbt/index.html" in r.read().decode("utf-8")
        with urllib.request.urlopen(url + "dbt/index.html", timeout=10) as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
            assert b"<html" in r.read(4096).lower()
        with urllib.request.urlopen(url + "dbt/catalog.json", timeout=10) as r:
            assert GRADES in json.load(r)["nodes"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_landing_page_links_gx_data_docs_only_once_they_exist(tmp_path):
    page = docs.write_landing_page(tmp_path).read_text(encoding="utf-8")
    assert 'href="dbt/index.html"' in page and "gx/" not in page
    (tmp_path / "gx").mkdir()
    assert 'href="gx/"' in docs.write_landing_page(tmp_path).read_text(encoding="utf-8")
    (tmp_path / "gx" / "index.html").write_text("<html></html>", encoding="utf-8")
    assert 'href="gx/index.html"' in docs.write_landing_page(tmp_path).read_text(encoding="utf-8")


def test_serving_a_folder_without_a_site_says_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make docs"):
        docs.make_server(tmp_path, 0)


def test_the_docs_command_and_its_port(monkeypatch):
    from credit_platform.cli import build_parser
    from credit_platform.cli.local import cmd_docs

    args = build_parser().parse_args(["docs", "--no-serve", "--port", "9999"])
    assert args.func is cmd_docs and args.no_serve and args.port == 9999
    assert build_parser().parse_args(["docs"]).port is None  # then CREDIT_DOCS_PORT or 8081
    monkeypatch.delenv("CREDIT_DOCS_PORT", raising=False)
    assert docs.docs_port() == 8081
    monkeypatch.setenv("CREDIT_DOCS_PORT", "8181")
    assert docs.docs_port() == 8181


@pytest.mark.integration
def test_every_staging_and_intermediate_column_is_described_here_or_under_its_name(site):
    """A staging or intermediate column is described on its model, unless it keeps the name of a
    described source, seed or mart column (and with it that meaning: uscc, batch_id, ...). Anything
    a model computes under a name of its own says what it is."""
    manifest = json.loads((site.site / "dbt" / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((site.site / "dbt" / "catalog.json").read_text(encoding="utf-8"))
    elsewhere = {
        name.lower()
        for node in [*manifest["nodes"].values(), *manifest["sources"].values()]
        if node["resource_type"] in ("source", "seed")
        or (node["resource_type"] == "model" and Path(node["original_file_path"]).parts[:2] == ("models", "marts"))
        for name, col in node["columns"].items() if (col.get("description") or "").strip()
    }  # fmt: skip
    problems = []
    for uid, node in manifest["nodes"].items():
        layer = Path(node["original_file_path"]).parts[1] if node["resource_type"] == "model" else None
        if layer not in ("staging", "intermediate"):
            continue
        entry = catalog["nodes"].get(uid)
        if entry is None:
            problems.append(f"{uid}: not in the warehouse")
            continue
        here = {c.lower() for c, col in node["columns"].items() if (col.get("description") or "").strip()}
        problems += [f"{node['name']}.{c}: no description, and no source, seed or mart column of that name has one"
                     for c in sorted(c.lower() for c in entry["columns"]) if c not in here | elsewhere]  # fmt: skip
    assert not problems, f"{len(problems)} undescribed:\n" + "\n".join(problems)
