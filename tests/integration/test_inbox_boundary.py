"""The inbox is the boundary: symbolic links and paths leading outside it are refused (by the loader,
its discovery and `credit-platform load`), file names match their source whatever their case, a file
no source claims is reported, and cells changed on reading (a formula without a saved result, a NUL
byte) are warnings on their row and column."""

from __future__ import annotations

import csv
import datetime as dt
import logging
from pathlib import Path

import psycopg
import pytest

from credit_platform import cli, uscc
from credit_platform.ingest import config, loader
from credit_platform.ingest.check import check_file
from credit_platform.settings import paths
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 1, 15)
GOOD = uscc.make("91", "140681", "MA0K1234")
OTHER = uscc.make("92", "140624", "L1234567")
CF = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]


def _row(n: int, code: str = GOOD, name: str = "怀仁市甲乙商贸有限公司", fine: object = "0.5") -> list:
    return [name, "法人及非法人组织", code, f"怀市监罚〔2025〕inbox-{n}号", "罚款", fine, "2025-03-01",
            "怀仁市市场监督管理局"]  # fmt: skip


def _write_csv(path: Path, rows: list[list], header: list[str] = CF) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


@pytest.fixture(scope="module")
def db(migrated_database):
    with migrated_database("inbox") as url:
        yield url


@pytest.fixture
def url(db):
    return libpq_url(url_for("loader", db))


def _batches(db: str, like: str) -> list[tuple]:
    with psycopg.connect(libpq_url(db)) as conn:
        return conn.execute("SELECT source_file, status, message FROM ops.load_batches WHERE source_file LIKE %s"
                            " ORDER BY batch_id", (like,)).fetchall()  # fmt: skip


def _kept(db: str, like: str) -> int:
    with psycopg.connect(libpq_url(db)) as conn:
        return conn.execute("SELECT count(*) FROM raw.penalties WHERE source_file LIKE %s", (like,)).fetchone()[0]


@pytest.fixture
def cli_env(db, tmp_path, monkeypatch):
    box = tmp_path / "inbox"
    box.mkdir()
    monkeypatch.setenv("WAREHOUSE_URL", db)
    monkeypatch.setenv("CREDIT_INBOX", str(box))
    monkeypatch.setenv("CREDIT_ARCHIVE", str(tmp_path / "archive"))
    # The scratch local folder has no password file: libpq and the URL builders use the server's.
    monkeypatch.setenv("PGPASSFILE", str(paths().warehouse_passfile))
    monkeypatch.setenv("CREDIT_LOCAL_DIR", str(tmp_path / "local"))
    return box


def test_a_symlink_to_a_file_outside_the_inbox_is_refused(db, url, tmp_path, caplog):
    box = tmp_path / "inbox"
    secret = _write_csv(tmp_path / "elsewhere/penalties_secret.csv", [_row(1)])
    link = box / "departments/scjgj/penalties_link.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    (box / "departments/scjgj/linked_folder").symlink_to(secret.parent, target_is_directory=True)
    _write_csv(box / "departments/scjgj/penalties_good.csv", [_row(2)])

    with pytest.raises(loader.LoadError) as info:
        loader.load_file(url, "departments/scjgj/penalties_link.csv", inbox=box, archive_dir=tmp_path / "a",
                         as_of=AS_OF)  # fmt: skip
    message = str(info.value)
    assert "departments/scjgj/penalties_link.csv" in message
    assert "符号链接" in message and "symbolic link" in message, message
    # Discovery hands the links to the loader, which refuses them: the department's task fails naming
    # each, after loading the good file beside them.
    with caplog.at_level(logging.ERROR):
        with pytest.raises(loader.LoadError) as info:
            loader.load_department(url, "scjgj", inbox=box)
    assert "penalties_link.csv" in str(info.value) and "linked_folder" in str(info.value)
    assert "symbolic link" in caplog.text
    assert _kept(db, "%penalties_good.csv") == 1
    assert _kept(db, "%penalties_link.csv") == 0 and _kept(db, "%penalties_secret.csv") == 0
    assert _batches(db, "%link%") == []  # refused before any batch was opened


def test_a_symlink_swapped_in_after_discovery_is_refused_when_opened(url, tmp_path):
    box = tmp_path / "inbox"
    secret = _write_csv(tmp_path / "elsewhere/penalties_secret.csv", [_row(3)])
    _write_csv(box / "departments/scjgj/penalties_swap.csv", [_row(4)])
    rel = "departments/scjgj/penalties_swap.csv"
    assert rel in loader.discover(box)
    (box / rel).unlink()
    (box / rel).symlink_to(secret)
    with pytest.raises(loader.LoadError, match="symbolic link"):
        loader.load_file(url, rel, inbox=box, archive_dir=tmp_path / "a", as_of=AS_OF)


def test_an_opened_file_is_read_from_its_handle_not_its_name(tmp_path):
    from credit_platform.ingest import inbox

    box = tmp_path / "inbox"
    _write_csv(box / "departments/scjgj/penalties_h.csv", [_row(5)])
    opened = inbox.open_in_inbox(box, "departments/scjgj/penalties_h.csv")
    (box / "departments/scjgj/penalties_h.csv").unlink()
    (box / "departments/scjgj/penalties_h.csv").write_text("something else")
    assert "inbox-5号" in opened.path.read_text(encoding="utf-8")
    assert opened.path.suffix == ".csv"


# The second matches the penalty glob (its "*" spans folders), and so was loaded from outside.
@pytest.mark.parametrize("given", ["../elsewhere/penalties_secret.csv",
                                   "departments/scjgj/../../../elsewhere/penalties_secret.csv",
                                   "ABSOLUTE"])  # fmt: skip
def test_a_path_leading_outside_the_inbox_is_refused(db, url, tmp_path, given):
    box = tmp_path / "inbox"
    (box / "departments/scjgj").mkdir(parents=True)
    secret = _write_csv(tmp_path / "elsewhere/penalties_secret.csv", [_row(6)])
    given = str(secret) if given == "ABSOLUTE" else given
    with pytest.raises(loader.LoadError) as info:
        loader.load_file(url, given, inbox=box, archive_dir=tmp_path / "a", as_of=AS_OF)
    assert "收件箱" in str(info.value) and "outside the inbox" in str(info.value), str(info.value)
    assert _batches(db, "%elsewhere%") == [] and _kept(db, "%secret%") == 0


@pytest.mark.parametrize("given", ["../elsewhere/penalties_secret.csv", "ABSOLUTE",
                                   "departments/scjgj/penalties_l.csv"])  # fmt: skip
def test_credit_platform_load_refuses_with_exit_status_2(db, cli_env, tmp_path, capsys, given):
    secret = _write_csv(tmp_path / "elsewhere/penalties_secret.csv", [_row(7)])
    (cli_env / "departments/scjgj").mkdir(parents=True)
    (cli_env / "departments/scjgj/penalties_l.csv").symlink_to(secret)
    given = str(secret) if given == "ABSOLUTE" else given
    assert cli.main(["load", given]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "outside the inbox" in text or "symbolic link" in text, text
    assert "/" in text and ("收件箱" in text or "符号链接" in text)
    assert _kept(db, "%secret%") == 0 and _kept(db, "%penalties_l.csv") == 0


def test_credit_platform_load_takes_an_absolute_path_inside_the_inbox(db, cli_env, capsys):
    path = _write_csv(cli_env / "departments/scjgj/penalties_abs.csv", [_row(8)])
    assert cli.main(["load", str(path)]) == 0
    assert _kept(db, "departments/scjgj/penalties_abs.csv") == 1


def test_upper_case_names_and_extensions_match_their_source(db, url, tmp_path):
    assert config.source_for("departments/scjgj/Penalties_X.CSV").name == "penalty"
    assert config.source_for("departments/scjgj/SUBJECT_REGISTER.XLSX").name == "subject_register"
    assert config.source_for("province/Province_Evaluation_1.Json").name == "province_evaluation"
    assert config.source_for("departments/scjgj/penalties_x.pdf") is None
    box = tmp_path / "inbox"
    _write_csv(box / "departments/scjgj/Penalties_X.CSV", [_row(9), _row(10, code=OTHER)])
    assert loader.discover(box) == ["departments/scjgj/Penalties_X.CSV"]
    (result,) = loader.load_department(url, "scjgj", inbox=box)
    assert (result.status, result.rows_in, result.rows_loaded) == ("loaded", 2, 2)
    assert _kept(db, "departments/scjgj/Penalties_X.CSV") == 2


def test_a_file_no_source_claims_is_reported(tmp_path, caplog):
    box = tmp_path / "inbox"
    _write_csv(box / "departments/scjgj/处罚信息.csv", [_row(11)])
    _write_csv(box / "departments/scjgj/penalties_ok.csv", [_row(12)])
    (box / "departments/scjgj/~$penalties_ok.xlsx").write_bytes(b"lock")
    (box / "departments/scjgj/.DS_Store").write_bytes(b"\0")
    (box / "province").mkdir()
    (box / "province/evaluations.csv").write_text("x")
    with caplog.at_level(logging.INFO):
        found = loader.discover(box)
    assert found == ["departments/scjgj/penalties_ok.csv"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    (dept,) = [w for w in warnings if "处罚信息.csv" in w]
    assert "penalties*.csv" in dept and "subject_register*.xlsx" in dept  # the names expected there
    (prov,) = [w for w in warnings if "province/evaluations.csv" in w]
    assert "province_evaluation_*.json" in prov
    assert not any("~$" in w or ".DS_Store" in w for w in warnings)  # ignored quietly, at INFO
    assert any("~$penalties_ok.xlsx" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    from credit_platform.ingest import inbox

    scan = inbox.scan(box)
    assert scan.counts() == {"files_unmatched": 2, "files_ignored": 2, "paths_refused": 0}
    assert inbox.scan(box, prefix="departments").counts()["files_unmatched"] == 1

    # A file dropped beside the source folders is reported by each DAG's discovery too.
    _write_csv(box / "penalties_2026.csv", [_row(18)])
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert loader.discover(box, prefix="departments") == ["departments/scjgj/penalties_ok.csv"]
    assert "penalties_2026.csv: 没有数据源认领此文件名" in caplog.text and "departments/<code>/" in caplog.text
    assert inbox.scan_elsewhere(box).unmatched == ["penalties_2026.csv"]


def test_a_formula_without_a_saved_result_is_a_warning_on_its_row_and_column(db, url, tmp_path):
    import openpyxl

    box = tmp_path / "inbox"
    path = box / "departments/scjgj/penalties_formula.xlsx"
    path.parent.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(CF)
    ws.append(_row(13))
    ws.append(_row(14, code=OTHER, fine="=0.5*2"))  # openpyxl saves a formula without its result
    ws.append(_row(15, fine=1))
    wb.save(path)

    report, status = check_file(url, path, as_of=AS_OF)
    assert status == 0
    assert [(p["row"], p["column"], p["severity"], p["code"]) for p in report["problems"]] == [
        (2, "CF_NR_FK", "warning", "formula_without_value")]
    assert "公式" in report["problems"][0]["message_zh"] and "formula" in report["problems"][0]["message_en"]

    result = loader.load_file(url, "departments/scjgj/penalties_formula.xlsx", inbox=box, archive_dir=tmp_path / "a",
                              as_of=AS_OF)  # fmt: skip
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    with psycopg.connect(libpq_url(db)) as conn:
        flags = dict(conn.execute("SELECT row_number, flags FROM raw.penalties WHERE source_file = %s",
                                  ("departments/scjgj/penalties_formula.xlsx",)).fetchall())  # fmt: skip
    assert flags == {1: [], 2: ["formula_without_value@fine_amount"], 3: []}


def test_a_nul_byte_removed_is_a_warning_on_its_row_and_column(db, url, tmp_path):
    box = tmp_path / "inbox"
    path = _write_csv(box / "departments/scjgj/penalties_nul.csv",
                      [_row(16), _row(17, name="怀仁市\x00丙公司", code=OTHER)])  # fmt: skip
    report, status = check_file(url, path, as_of=AS_OF)
    assert status == 0
    assert [(p["row"], p["column"], p["severity"], p["code"]) for p in report["problems"]] == [
        (2, "CF_XDR_MC", "warning", "nul_character_removed")]
    loader.load_file(url, "departments/scjgj/penalties_nul.csv", inbox=box, archive_dir=tmp_path / "a", as_of=AS_OF)
    with psycopg.connect(libpq_url(db)) as conn:
        rows = dict((r, (n, f)) for r, n, f in conn.execute(
            "SELECT row_number, subject_name, flags FROM raw.penalties WHERE source_file = %s",
            ("departments/scjgj/penalties_nul.csv",)))  # fmt: skip
    assert rows == {1: ("怀仁市甲乙商贸有限公司", []), 2: ("怀仁市丙公司", ["nul_character_removed@subject_name"])}
