"""One bad file never stops the others: a file that cannot be read, for whatever reason, fails its
own batch (with the cause) and every other file of the run is loaded and passes the raw quality
gate or is quarantined; ``credit-platform check`` and ``load`` say so in Chinese and English and
exit 2, with no traceback.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import corpus
import psycopg
import pytest
from corpus import CF, GOOD, penalty

from credit_platform.ingest import loader
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

CP = str(Path(sys.executable).parent / "credit-platform")
DEPT = "scjgj"


@pytest.fixture(scope="module")
def db(migrated_database):
    with migrated_database("isolate") as url:
        yield url


def _corrupt_sheet_xml(inbox: Path, relative: str) -> str:
    """A workbook whose zip is sound but whose sheet XML is cut off in the middle of a row."""
    corpus.write_xlsx(inbox, relative, {"Sheet1": [CF, *[penalty("sheet_xml", n) for n in range(1, 6)]]})
    path = inbox / relative
    with zipfile.ZipFile(path) as zin:
        members = [(i, zin.read(i.filename)) for i in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            if info.filename.startswith("xl/worksheets/sheet"):
                data = data[: len(data) * 2 // 3] + b"<row r=<<broken"
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())
    return relative


def _files(inbox: Path, tag: str) -> tuple[str, str, str]:
    """A batch with 40% bad codes (quarantined), a workbook with a damaged sheet, a good file; in load order."""
    rows = [penalty(f"{tag}a", n, code=GOOD if n % 5 > 1 else "BAD") for n in range(1, 11)]
    half_bad = corpus.write_csv(inbox, f"departments/{DEPT}/penalties_{tag}_a.csv", CF, rows)
    damaged = _corrupt_sheet_xml(inbox, f"departments/{DEPT}/penalties_{tag}_b.xlsx")
    good = corpus.write_csv(inbox, f"departments/{DEPT}/penalties_{tag}_c.csv", CF,
                            [penalty(f"{tag}c", n) for n in range(1, 4)])  # fmt: skip
    return half_bad, damaged, good


def _batches(db: str, like: str) -> dict[str, tuple]:
    with psycopg.connect(libpq_url(db)) as conn:
        return {r[0]: r[1:] for r in conn.execute(
            "SELECT DISTINCT ON (source_file) source_file, status, rows_in, rows_loaded, rows_rejected,"
            " coalesce(message, ''), coalesce(quarantine_reason, '') FROM ops.load_batches"
            " WHERE source_file LIKE %s ORDER BY source_file, batch_id DESC", (like,))}  # fmt: skip


def test_a_damaged_sheet_fails_its_own_batch_and_the_others_load_and_are_gated(db, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    monkeypatch.setenv("CREDIT_ARCHIVE", str(tmp_path / "archive"))
    half_bad, damaged, good = _files(inbox, "dept")
    url = libpq_url(url_for("loader", db))

    with pytest.raises(loader.Quarantined) as info:
        loader.load_department(url, DEPT, inbox=inbox)
    assert half_bad in str(info.value) and damaged in str(info.value)
    batches = _batches(db, "%penalties_dept_%")
    assert batches[half_bad][0] == "quarantined"
    status, rows_in, rows_loaded, rows_rejected, message, _ = batches[damaged]
    assert (status, rows_in, rows_loaded, rows_rejected) == ("failed", None, None, None)
    assert message.startswith(f"{damaged}: ") and "sheet" in message, message
    assert batches[good][:4] == ("loaded", 3, 3, 0)

    # Run again: the damaged file fails again, the others are not taken again.
    assert loader.pending(url, inbox, prefix=f"departments/{DEPT}") == [damaged]
    with pytest.raises(loader.LoadError):
        loader.load_department(url, DEPT, inbox=inbox, only_pending=True)
    assert _batches(db, "%penalties_dept_%")[good][0] == "loaded"


def test_an_unexpected_error_in_one_file_is_that_files_failure(db, tmp_path, monkeypatch):
    """Whatever goes wrong inside one file's load (here the reader itself breaks) fails that batch only."""
    inbox = tmp_path / "inbox"
    monkeypatch.setenv("CREDIT_ARCHIVE", str(tmp_path / "archive"))
    first = corpus.write_csv(inbox, f"departments/{DEPT}/penalties_boom_a.csv", CF, [penalty("boom_a", 1)])
    odd = corpus.write_xlsx(inbox, f"departments/{DEPT}/penalties_boom_b.xlsx",
                            {"Sheet1": [CF, penalty("boom_b", 1)]})  # fmt: skip
    last = corpus.write_csv(inbox, f"departments/{DEPT}/penalties_boom_c.csv", CF, [penalty("boom_c", 1)])
    from credit_platform.ingest import stage

    def broken_reader(path, score):
        raise ZeroDivisionError("a bug in the reader")

    monkeypatch.setattr(stage, "read_xlsx", broken_reader)
    results, failures = loader.load_files(libpq_url(url_for("loader", db)), [first, odd, last], inbox=inbox)
    assert [(r.file, r.status) for r in results] == [(first, "loaded"), (last, "loaded")]
    assert len(failures) == 1 and failures[0].startswith(f"{odd}: ") and "ZeroDivisionError" in failures[0]
    status, rows_in, *_ = _batches(db, odd)[odd]
    assert (status, rows_in) == ("failed", None)


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([CP, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def test_check_and_load_report_every_unreadable_file_and_go_on(db, tmp_path):
    inbox = tmp_path / "inbox"
    half_bad, damaged, good = _files(inbox, "cli")
    env = {"WAREHOUSE_URL": db, "CREDIT_INBOX": str(inbox), "CREDIT_ARCHIVE": str(tmp_path / "archive")}

    res = _cli("check", str(inbox / damaged), str(inbox / good), **env)
    out = res.stdout + res.stderr
    assert res.returncode == 2, out
    assert "Traceback" not in out
    assert "无法读取" in out and "cannot be read" in out and damaged.split("/")[-1] in out
    assert "3 rows read, 3 rows ok" in out  # the good file was checked all the same

    res = _cli("load", damaged, half_bad, good, **env)
    out = res.stdout + res.stderr
    assert res.returncode == 2, out
    assert "Traceback" not in out
    assert f"{damaged}: " in out and "未装载" in out and "not loaded" in out
    batches = _batches(db, "%penalties_cli_%")
    assert {f: b[0] for f, b in batches.items()} == {half_bad: "quarantined", damaged: "failed", good: "loaded"}


def test_check_against_a_warehouse_not_set_up_blames_the_warehouse_not_the_file(scratch_database, tmp_path):
    inbox = tmp_path / "inbox"
    _, _, good = _files(inbox, "nowh")
    res = _cli("check", str(inbox / good), WAREHOUSE_URL=scratch_database)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "Traceback" not in out and "export it again" not in out
    assert "the warehouse could not check the file" in out and "make warehouse" in out


@pytest.mark.parametrize(("rel", "data", "cause"), [
    (f"departments/{DEPT}/penalties_wide.csv", (",".join(CF + [f"备注{i}" for i in range(2000)]) + "\r\n").encode() * 2,
     "the header row has 2009 cells; at most 1500 columns can be read"),
    (f"departments/{DEPT}/penalties_bom.csv", b"\xef\xbb\xbf" + ",".join(CF).encode() + b"\r\n\xd6\xd0\xce\xc4,1\r\n",
     "a UTF-8 byte order mark, but not UTF-8 (undecodable bytes near byte"),
    (f"departments/{DEPT}/penalties_nul.csv", corpus.csv_text(["CF_XDR_\x00MC", *CF[1:]], [penalty("nul", 1)]).encode(),
     None),  # a NUL inside a header cell is dropped: the file loads
    ("province/province_evaluation_half.json",
     b'{"data":[{"creditCode":"' + GOOD.encode() + b'","subjectName":"\\ud800"}]}',
     "data row 1: text that is not valid Unicode (half a character"),
])  # fmt: skip
def test_files_refused_with_their_cause(db, tmp_path, monkeypatch, rel, data, cause):
    """A header too wide for a table, a byte order mark over bytes that are not UTF-8, half a character."""
    inbox = tmp_path / "inbox"
    monkeypatch.setenv("CREDIT_ARCHIVE", str(tmp_path / "archive"))
    corpus.write_bytes(inbox, rel, data)
    url = libpq_url(url_for("loader", db))
    if cause is None:
        assert loader.load_file(url, rel, inbox=inbox).status == "loaded"
        return
    with pytest.raises(loader.LoadError, match=re.escape(cause)):
        loader.load_file(url, rel, inbox=inbox)
    assert _batches(db, rel)[rel][0] == "failed"
