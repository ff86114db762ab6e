"""Row-level rules of the loader, each with its reason code, on small files made here; `check`
against the loader; duplicates; a load killed half-way and run again; supersession of pushes."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from credit_platform import uscc
from credit_platform.ingest import config, loader
from credit_platform.ingest.check import check_file
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 1, 15)
GOOD = uscc.make("91", "140681", "MA0K1234")
OTHER = uscc.make("92", "140624", "L1234567")
VILLAGE = uscc.make("N2", "140681", "55123456")  # position 1 is a letter
FUJIAN_PILOT = "91350100M0001TGQXM"  # fails the checksum, yet real (brief section 2)
OLD_NUMBER = "140681200012345"
CF = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_XDR_GSZC", "CF_XDR_ZJHM", "CF_WSH", "CF_CFLB", "CF_NR_FK",
      "CF_JDRQ", "CF_GSJZQ", "CF_CFJG"]  # fmt: skip


def bad_check(code: str) -> str:
    return code[:17] + next(c for c in uscc.ALPHABET if c != code[17])


# (name, category, uscc, old number, person id, category, fine, decision date, publication end) -> expected
PENALTY_ROWS = [
    (["甲公司", "法人及非法人组织", GOOD, "", "", "罚款", "0.5", "2025-03-01", "2026-03-01"], "loaded"),
    (["乙公司", "法人及非法人组织", " ９１" + GOOD[2:8] + "-" + GOOD[8:].lower() + " ", "", "", "警告", "0",
      "2025/3/2", "2099-01-01"], "loaded"),  # full width, lower case, hyphen; a future publication end is fine
    (["村集体", "法人及非法人组织", VILLAGE, "", "", "警告", "", "20250303", ""], "loaded"),
    (["福州公司", "法人及非法人组织", FUJIAN_PILOT, "", "", "警告", "", "2025年3月4日", ""], "loaded"),
    (["丙公司", "法人及非法人组织", bad_check(OTHER), "", "", "警告", "", "45720", ""], "uscc_invalid_checksum"),
    (["丁公司", "法人及非法人组织", "91140681MA0K1234O", "", "", "警告", "", "2025-03-05", ""], "uscc_invalid_format"),
    (["戊公司", "法人及非法人组织", "", OLD_NUMBER, "", "罚款", "1", "2025-03-06", ""], "loaded"),
    (["己公司", "法人及非法人组织", "", "140681999999999", "", "罚款", "1", "2025-03-07", ""],
     "uscc_unresolved_registration"),
    (["张三", "自然人", "", "", "140681199001011234", "罚款", "0.1", "2025-03-08", ""], "protected"),
    (["庚公司", "法人及非法人组织", OTHER, "", "", "罚款", "1", "2099-03-09", ""], "event_date_in_future"),
    (["辛公司", "法人及非法人组织", OTHER, "", "", "罚款", "-2", "2025-03-10", ""], "amount_negative"),
    (["壬公司", "法人及非法人组织", OTHER, "", "", "罚酒三杯", "1", "2025-03-11", ""], "penalty_category_unknown"),
    (["癸公司", "法人及非法人组织", OTHER, "", "", "罚款", "1", "2025-02-30", ""], "date_unparseable"),
    (["子公司", "法人及非法人组织", bad_check(GOOD), "", "", "罚款", "-1", "2025-03-12", ""],
     "uscc_invalid_checksum+amount_negative"),
]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def db(migrated_database):
    with migrated_database("rules") as url:
        yield url


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, db):
    root = tmp_path_factory.mktemp("inbox")
    _write_csv(root / "departments/scjgj/subject_register.csv",
               ["统一社会信用代码", "主体名称", "登记状态", "原注册号"],
               [[GOOD, "甲公司", "存续", OLD_NUMBER], [OTHER, "乙", "存续", ""]])  # fmt: skip
    rows = []
    for (name, cat, code, old, pid, pcat, fine, date, end), _ in PENALTY_ROWS:
        rows.append([name, cat, code, old, pid, f"怀市监罚〔2025〕{len(rows) + 1}号", pcat, fine, date, end,
                     "怀仁市市场监督管理局"])  # fmt: skip
    _write_csv(root / "departments/scjgj/penalties_rules.csv", CF, rows)
    grades = [["A公司", GOOD, "B＋", "2025-06-01"], ["B公司", OTHER, "良", "2025-06-01"],
              ["C公司", VILLAGE, "E", "2025-06-01"], ["D公司", FUJIAN_PILOT, "A", "2025-06-01"],
              ["D公司", FUJIAN_PILOT, "B", "2025-06-01"]]  # fmt: skip
    header = ["企业名称", "统一社会信用代码", "评价等级", "评价日期"]
    _write_csv(root / "province/province_evaluation_rules.csv", header, grades, encoding="gb18030")
    url = libpq_url(url_for("loader", db))
    for rel in ["departments/scjgj/subject_register.csv", "departments/scjgj/penalties_rules.csv",
                "province/province_evaluation_rules.csv"]:  # fmt: skip
        loader.load_file(url, rel, inbox=root, archive_dir=root.parent / "archive", as_of=AS_OF)
    return root


def _rejected(db: str, file: str) -> dict[int, list[str]]:
    with psycopg.connect(libpq_url(db)) as conn:
        return {r: codes for r, codes in conn.execute(
            "SELECT row_number, reason_codes FROM ops.rejected_rows WHERE source_file = %s", (file,))}  # fmt: skip


@pytest.mark.server_version
def test_each_penalty_rule_gives_its_reason_code(db, inbox):
    rejected = _rejected(db, "departments/scjgj/penalties_rules.csv")
    for n, (_, expected) in enumerate(PENALTY_ROWS, start=1):
        if expected in ("loaded", "protected"):
            assert n not in rejected, (n, rejected.get(n))
        else:
            assert sorted(rejected.get(n, [])) == sorted(expected.split("+")), n


def test_loaded_penalties_are_normalised_flagged_and_resolved(db, inbox):
    with psycopg.connect(libpq_url(db)) as conn:
        rows = {r: (u, orig, flags, d, end) for r, u, orig, flags, d, end in conn.execute(
            "SELECT row_number, uscc, uscc_original, flags, ops.to_date(decision_date),"
            " ops.to_date(publication_end_date) FROM raw.penalties"
            " WHERE source_file = 'departments/scjgj/penalties_rules.csv'")}  # fmt: skip
        protected = conn.execute("SELECT row_number, record FROM raw.protected_person_records").fetchall()
        batch = conn.execute("SELECT rows_in, rows_loaded, rows_rejected, rows_protected FROM ops.load_batches"
                             " WHERE source_file = 'departments/scjgj/penalties_rules.csv'").fetchone()  # fmt: skip
    assert rows[2][0] == GOOD and rows[2][1].strip().startswith("９１") and rows[2][4] == dt.date(2099, 1, 1)
    assert rows[3][0] == VILLAGE
    assert rows[4][0] == FUJIAN_PILOT and set(rows[4][2]) == {"uscc_legacy_checksum", "division_outside_city"}
    assert rows[7][0] == GOOD and rows[7][2] == ["uscc_resolved_from_registration"]
    assert [rows[n][3] for n in (1, 2, 3, 4)] == [dt.date(2025, 3, d) for d in (1, 2, 3, 4)]
    assert protected[0][0] == 9 and protected[0][1]["CF_XDR_ZJHM"] == "140681199001011234"
    assert batch == (14, 6, 8, 1)  # rows in = loaded (5 subjects + 1 protected) + rejected


def test_personal_records_are_out_of_the_transformers_reach(db, inbox):
    with psycopg.connect(libpq_url(url_for("transformer", db))) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM raw.protected_person_records")


def test_province_grades_spellings_class_words_and_conflicts(db, inbox):
    rejected = _rejected(db, "province/province_evaluation_rules.csv")
    assert rejected == {2: ["grade_class_word"], 3: ["grade_invalid"], 4: ["grade_conflict"], 5: ["grade_conflict"]}
    with psycopg.connect(libpq_url(db)) as conn:
        graded = conn.execute("SELECT uscc, ops.to_grade(grade) FROM raw.province_evaluations").fetchall()
    assert graded == [(GOOD, "B+")]


def test_check_reports_exactly_what_the_loader_rejects(db, inbox):
    url = libpq_url(url_for("loader", db))
    for rel in ["departments/scjgj/penalties_rules.csv", "province/province_evaluation_rules.csv"]:
        report, status = check_file(url, inbox / rel, as_of=AS_OF)
        errors = {}
        for p in report["problems"]:
            if p["severity"] == "error":
                errors.setdefault(p["row"], []).append(p["code"])
        assert {r: sorted(c) for r, c in errors.items()} == {r: sorted(c) for r, c in _rejected(db, rel).items()}
        assert status == 1 and report["rows_read"] - report["rows_ok"] == len(errors)
        assert all(p["message_zh"] and p["message_en"] for p in report["problems"])
    warnings = [p for p in check_file(url, inbox / "departments/scjgj/penalties_rules.csv", as_of=AS_OF)[0]["problems"]
                if p["severity"] == "warning" and p["row"] == 4]  # fmt: skip
    assert {p["code"] for p in warnings} == {"uscc_legacy_checksum", "division_outside_city"}
    assert {p["column"] for p in warnings} == {"CF_XDR_SHXYM"}


def test_check_exit_statuses(db, tmp_path):
    url = libpq_url(url_for("loader", db))
    clean = _write_csv(tmp_path / "penalties_ok.csv", CF, [["甲", "法人及非法人组织", GOOD, "", "", "1号", "警告", "0",
                                                            "2025-01-01", "", "局"]])  # fmt: skip
    assert check_file(url, clean, as_of=AS_OF)[1] == 0
    empty = tmp_path / "penalties_empty.csv"
    empty.write_text("")
    report, status = check_file(url, empty, as_of=AS_OF)
    assert status == 2 and "empty" in report["error"]
    no_header = _write_csv(tmp_path / "penalties_x.csv", ["a", "b"], [["1", "2"]])
    assert check_file(url, no_header, as_of=AS_OF)[1] == 2


def test_allow_listed_code_loads_with_a_flag(db, tmp_path, monkeypatch):
    base = config.rules()
    code = OTHER[:17] + ("0" if OTHER[17] != "0" else "1")
    allowed = base.__class__(**{**base.__dict__, "allow_list": (("scjgj", code),)})
    monkeypatch.setattr(loader, "rules", lambda: allowed)
    assert not uscc.is_valid(code)
    _write_csv(tmp_path / "departments/scjgj/penalties_allow.csv", CF,
               [["甲", "法人及非法人组织", code, "", "", "1号", "警告", "0", "2025-01-01", "", "局"]])  # fmt: skip
    r = loader.load_file(libpq_url(url_for("loader", db)), "departments/scjgj/penalties_allow.csv", inbox=tmp_path,
                         archive_dir=tmp_path / "archive", as_of=AS_OF)  # fmt: skip
    assert (r.rows_loaded, r.rows_rejected) == (1, 0)


def test_a_quarantined_file_loads_again_once_mended_and_a_loaded_one_never(migrated_database, tmp_path,
                                                                            monkeypatch):  # fmt: skip
    """A file quarantined (every row rejected: a code failing its check) is a duplicate when sent again as it
    is; once the cause is mended (the code allow-listed) `again` loads it as a new batch, and the earlier
    batch stays quarantined. Bytes that loaded are never loaded twice, `again` or not."""
    with migrated_database("loadagain") as db:  # a database of its own: the rebuild replays all of it
        url = libpq_url(url_for("loader", db))
        code = OTHER[:17] + ("0" if OTHER[17] != "0" else "1")
        rel = "departments/scjgj/penalties_mended.csv"
        _write_csv(tmp_path / rel, CF,
                   [["甲", "法人及非法人组织", code, "", "", "2号", "警告", "0", "2025-01-01", "", "局"]])  # fmt: skip
        kw = {"inbox": tmp_path, "archive_dir": tmp_path / "archive", "as_of": AS_OF}
        first = loader.load_file(url, rel, **kw)
        assert (first.status, first.rows_loaded, first.rows_rejected) == ("quarantined", 0, 1)
        assert loader.load_file(url, rel, **kw).status == "duplicate"

        base = config.rules()
        monkeypatch.setattr(loader, "rules", lambda: base.__class__(**{**base.__dict__,
                                                                       "allow_list": (("scjgj", code),)}))  # fmt: skip
        again = loader.load_file(url, rel, again=True, **kw)
        assert (again.status, again.rows_loaded, again.rows_rejected) == ("loaded", 1, 0)
        assert loader.load_file(url, rel, again=True, **kw).status == "duplicate"
        with psycopg.connect(libpq_url(db)) as conn:
            statuses = conn.execute("SELECT batch_id, status, duplicate_of FROM ops.load_batches"
                                    " WHERE source_file = %s ORDER BY batch_id", (rel,)).fetchall()  # fmt: skip
        assert [s for _b, s, _d in statuses] == ["quarantined", "duplicate", "loaded", "duplicate"]
        assert statuses[1][2] == first.batch_id and statuses[3][2] == again.batch_id

        # A rebuild from the archive lands both batches again under their ids: the first, quarantined when
        # first loaded, stays so (under today's rules it would load: it fed no grade either way); the
        # second loads.
        from credit_platform.grading.periods import rebuild

        rebuild(libpq_url(db), archive_dir=tmp_path / "archive", run_dbt_build=False)
        with psycopg.connect(libpq_url(db)) as conn:
            after = conn.execute("SELECT batch_id, status FROM ops.load_batches WHERE source_file = %s"
                                 " AND status <> 'duplicate' ORDER BY batch_id", (rel,)).fetchall()  # fmt: skip
            graded = conn.execute("SELECT count(*) FROM raw.penalties WHERE batch_id = %s",
                                  (again.batch_id,)).fetchone()  # fmt: skip
        assert after == [(first.batch_id, "quarantined"), (again.batch_id, "loaded")] and graded == (1,)


def test_a_rebuild_refuses_a_loaded_batch_that_gives_other_rows_today(migrated_database, tmp_path, monkeypatch):
    """A batch that fed grades must land again as it landed: under other rules (its allow-listed code no
    longer allowed) the rebuild stops and names the batch, rather than grade from other rows."""
    from credit_platform.grading.periods import rebuild

    code = OTHER[:17] + ("0" if OTHER[17] != "0" else "1")
    rel = "departments/scjgj/penalties_allowed_once.csv"
    _write_csv(tmp_path / rel, CF,
               [["乙", "法人及非法人组织", code, "", "", "3号", "警告", "0", "2025-01-01", "", "局"]])  # fmt: skip
    base = config.rules()
    with migrated_database("relandmismatch") as url:
        monkeypatch.setattr(loader, "rules", lambda: base.__class__(**{**base.__dict__,
                                                                       "allow_list": (("scjgj", code),)}))  # fmt: skip
        loaded = loader.load_file(libpq_url(url_for("loader", url)), rel, inbox=tmp_path,
                                  archive_dir=tmp_path / "archive", as_of=AS_OF)  # fmt: skip
        assert (loaded.status, loaded.rows_loaded) == ("loaded", 1)
        monkeypatch.setattr(loader, "rules", lambda: base)
        with pytest.raises(loader.RelandMismatch, match=rf"batch {loaded.batch_id} gave rows in/loaded/rejected"):
            rebuild(libpq_url(url), archive_dir=tmp_path / "archive", run_dbt_build=False)


def test_the_same_file_twice_loads_once_and_records_the_duplicate(db, inbox):
    url = libpq_url(url_for("loader", db))
    again = loader.load_file(url, "departments/scjgj/penalties_rules.csv", inbox=inbox,
                             archive_dir=inbox.parent / "archive", as_of=AS_OF)  # fmt: skip
    assert again.status == "duplicate"
    with psycopg.connect(libpq_url(db)) as conn:
        statuses = [s for (s,) in conn.execute("SELECT status FROM ops.load_batches WHERE source_file ="
                    " 'departments/scjgj/penalties_rules.csv' ORDER BY batch_id")]  # fmt: skip
        # more than 20% of this file's rows are rejected on purpose: the raw quality gate quarantined it
        assert statuses == ["quarantined", "duplicate"]
        loaded = conn.execute("SELECT count(*) FROM raw.penalties WHERE source_file = %s",
                              ("departments/scjgj/penalties_rules.csv",)).fetchone()[0]  # fmt: skip
        assert loaded == 5
        digests = {d for (d,) in conn.execute("SELECT file_sha256 FROM ops.load_batches WHERE source_file ="
                   " 'departments/scjgj/penalties_rules.csv'")}  # fmt: skip
    original = (inbox / "departments/scjgj/penalties_rules.csv").read_bytes()
    assert digests == {hashlib.sha256(original).hexdigest()}
    assert (inbox.parent / "archive" / digests.pop()).read_bytes() == original
    assert not list((inbox.parent / "archive").glob("*.part"))


def test_a_killed_load_run_again_gives_the_counts_of_an_uninterrupted_one(db, tmp_path):
    from credit_platform.bench.loader import make_file

    rows = 300_000
    rel = "departments/scjgj/penalties_kill.csv"
    make_file(tmp_path / rel, rows)
    url = libpq_url(url_for("loader", db))
    code = ("import sys, datetime as dt; from pathlib import Path; from credit_platform.ingest.loader import load_file;"
            f"load_file({url!r}, {rel!r}, inbox=Path({str(tmp_path)!r}), archive_dir=Path({str(tmp_path / 'a')!r}),"
            " as_of=dt.date(2026, 1, 15))")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PGAPPNAME": "credit-killed-load"})
    deadline = time.monotonic() + 60
    with psycopg.connect(libpq_url(db), autocommit=True) as conn:
        while time.monotonic() < deadline:
            running = conn.execute(
                "SELECT count(*) FROM ops.load_batches WHERE source_file = %s AND status = 'running'", (rel,)
            ).fetchone()[0]
            if running:
                break
            time.sleep(0.05)
        time.sleep(0.5)  # well inside the load
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Its server session ends when the server next reads from the vanished client; wait for that
        # rather than queue behind the file's lock it held.
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'credit-killed-load'"
                           ).fetchone()[0]:  # fmt: skip
            assert time.monotonic() < deadline + 120, "the killed load's session is still on the server"
            time.sleep(0.1)
        assert conn.execute("SELECT count(*) FROM raw.penalties WHERE source_file = %s", (rel,)).fetchone()[0] == 0
    result = loader.load_file(url, rel, inbox=tmp_path, archive_dir=tmp_path / "a", as_of=AS_OF)
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (rows, rows - rows // 100, rows // 100)
    with psycopg.connect(libpq_url(db)) as conn:
        statuses = [s for (s,) in conn.execute(
            "SELECT status FROM ops.load_batches WHERE source_file = %s ORDER BY batch_id", (rel,))]  # fmt: skip
        assert statuses == ["interrupted", "loaded"]
        assert conn.execute("SELECT count(*) FROM raw.penalties WHERE source_file = %s", (rel,)).fetchone()[0] == (
            rows - rows // 100)


def test_a_later_push_supersedes_an_earlier_one_from_its_date_and_history_is_kept(db, tmp_path):
    from credit_platform.grading.dbt_runner import run_dbt

    header = ["企业名称", "统一社会信用代码", "评价等级", "评价日期", "批次号"]
    _write_csv(tmp_path / "province/province_evaluation_p1.csv", header, [["甲", OTHER, "C", "2025-05-10", "P1"]])
    _write_csv(tmp_path / "province/province_evaluation_p2.csv", header, [["甲", OTHER, "A-", "2025-11-20", "P2"]])
    url = libpq_url(url_for("loader", db))
    for rel in ["province/province_evaluation_p1.csv", "province/province_evaluation_p2.csv"]:
        loader.load_file(url, rel, inbox=tmp_path, archive_dir=tmp_path / "a", as_of=AS_OF)
    # cautious: leave out the tests that also need what is not selected (the grade_levels seed)
    res = run_dbt(["build", "--select", "+int_province_evaluations_in_force", "--indirect-selection", "cautious",
                   "--quiet"], base_url=db, capture=True)  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:]
    with psycopg.connect(libpq_url(db)) as conn:
        in_force = dict(conn.execute(
            "SELECT evaluation_period, province_grade FROM intermediate.int_province_evaluations_in_force"
            " WHERE uscc = %s", (OTHER,)).fetchall())  # fmt: skip
        history = conn.execute("SELECT grade, push_batch_no FROM raw.province_evaluations WHERE uscc = %s"
                               " ORDER BY evaluation_date", (OTHER,)).fetchall()  # fmt: skip
    assert in_force == {"2025-H1": "C", "2025-H2": "A-"}
    assert history == [("C", "P1"), ("A-", "P2")]


def test_a_departments_own_header_spelling_is_configuration(db, tmp_path):
    """sources.yml gives jtj the spelling 作出处罚决定日期; the same file from another department is quarantined."""
    header = [h if h != "CF_JDRQ" else "作出处罚决定日期" for h in CF]
    row = ["甲", "法人及非法人组织", GOOD, "", "", "1号", "警告", "0", "2025-01-01", "", "局"]
    for dept in ("jtj", "zjj"):
        _write_csv(tmp_path / f"departments/{dept}/penalties_spelling.csv", header, [row])
    url = libpq_url(url_for("loader", db))
    ok = loader.load_file(url, "departments/jtj/penalties_spelling.csv", inbox=tmp_path, archive_dir=tmp_path / "a",
                          as_of=AS_OF)  # fmt: skip
    assert (ok.rows_loaded, ok.rows_rejected) == (1, 0)
    other = loader.load_file(url, "departments/zjj/penalties_spelling.csv", inbox=tmp_path,
                             archive_dir=tmp_path / "a", as_of=AS_OF)  # fmt: skip
    assert (other.status, other.rows_loaded, other.rows_rejected) == ("quarantined", 0, 1)
    assert "departments/zjj/penalties_spelling.csv" in other.quarantine_reason
    assert "'missing_columns': ['decision_date']" in other.quarantine_reason


def _raw_rows(db: str, file: str) -> tuple[list, list, int]:
    with psycopg.connect(libpq_url(db)) as conn:
        kept = conn.execute(
            "SELECT row_number, subject_name, subject_category, uscc, uscc_original, registration_number,"
            " decision_number, penalty_category, fine_amount, decision_date, publication_end_date, authority_name,"
            " flags FROM raw.penalties WHERE source_file = %s ORDER BY row_number", (file,)).fetchall()  # fmt: skip
        rejected = conn.execute("SELECT row_number, reason_codes FROM ops.rejected_rows WHERE source_file = %s"
                                " ORDER BY row_number", (file,)).fetchall()  # fmt: skip
        protected = conn.execute("SELECT count(*) FROM raw.protected_person_records WHERE source_file = %s",
                                 (file,)).fetchone()[0]  # fmt: skip
    return kept, rejected, protected


@pytest.mark.server_version
def test_every_way_into_the_raw_table_keeps_the_same_rows(db, inbox, tmp_path):
    """Straight COPY into raw, COPY into staging, the Python parser and XLSX: the same rows, reasons and flags."""
    import openpyxl

    rows = list(csv.reader((inbox / "departments/scjgj/penalties_rules.csv").read_text("utf-8-sig").splitlines()))
    header, data = rows[0], rows[1:]
    d = tmp_path / "departments/scjgj"
    _write_csv(d / "penalties_extra_column.csv", header + ["内部备注"], [r + ["x"] for r in data])
    with open(d / "penalties_blank_line.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(data)
        fh.write("\r\n")  # a blank last line: COPY refuses it, the Python parser skips it
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["怀仁市市场监督管理局行政处罚信息"])
    ws.append(header)
    for r in data:
        ws.append(r)
    wb.save(d / "penalties_sheet.xlsx")

    url = libpq_url(url_for("loader", db))
    expected = _raw_rows(db, "departments/scjgj/penalties_rules.csv")
    assert len(expected[0]) == 5 and len(expected[1]) == 8 and expected[2] == 1
    ways = {"penalties_extra_column.csv": "PostgreSQL COPY;", "penalties_blank_line.csv": "Python",
            "penalties_sheet.xlsx": "Python"}  # fmt: skip
    with psycopg.connect(libpq_url(db)) as conn:
        first = conn.execute("SELECT message FROM ops.load_batches WHERE source_file = %s",
                             ("departments/scjgj/penalties_rules.csv",)).fetchone()[0]  # fmt: skip
    assert first.startswith("read by PostgreSQL COPY straight into the raw table")
    for name, way in ways.items():
        rel = f"departments/scjgj/{name}"
        result = loader.load_file(url, rel, inbox=tmp_path, archive_dir=tmp_path / "a", as_of=AS_OF)
        assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (14, 6, 8), name
        assert _raw_rows(db, rel) == expected, name
        with psycopg.connect(libpq_url(db)) as conn:
            message = conn.execute("SELECT message FROM ops.load_batches WHERE source_file = %s", (rel,)).fetchone()[0]
        assert message.startswith(f"read by {way}"), (name, message)


def test_an_encoding_guessed_from_the_start_of_a_file_is_corrected(db, tmp_path, monkeypatch):
    """The first bytes are plain ASCII, the rest GB18030: the first COPY fails, the file is detected in full."""
    from credit_platform.ingest import stage

    monkeypatch.setattr(stage, "ENCODING_SAMPLE", 64)
    rel = "departments/scjgj/penalties_gbk_late.csv"
    row = ["Fang Ltd", "法人及非法人组织", GOOD, "", "", "怀市监罚〔2025〕9号", "警告", "0", "2025-03-01", "",
           "怀仁市市场监督管理局"]  # fmt: skip
    _write_csv(tmp_path / rel, CF, [row, ["怀仁市甲乙商贸有限公司", *row[1:]]], encoding="gb18030")
    result = loader.load_file(libpq_url(url_for("loader", db)), rel, inbox=tmp_path, archive_dir=tmp_path / "a",
                              as_of=AS_OF)  # fmt: skip
    assert (result.rows_in, result.rows_loaded) == (2, 2)
    with psycopg.connect(libpq_url(db)) as conn:
        names = [n for (n,) in conn.execute(
            "SELECT subject_name FROM raw.penalties WHERE source_file = %s ORDER BY row_number", (rel,))]  # fmt: skip
        message = conn.execute("SELECT message FROM ops.load_batches WHERE source_file = %s", (rel,)).fetchone()[0]
    assert names == ["Fang Ltd", "怀仁市甲乙商贸有限公司"]
    assert "straight into the raw table" in message and "encoding gb18030" in message


def test_the_same_bytes_under_another_name_are_a_duplicate(db, inbox, tmp_path):
    original = inbox / "departments/scjgj/penalties_rules.csv"
    rel = "departments/scjgj/penalties_rules_resent.csv"
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_bytes(original.read_bytes())
    again = loader.load_file(libpq_url(url_for("loader", db)), rel, inbox=tmp_path, archive_dir=tmp_path / "a",
                             as_of=AS_OF)  # fmt: skip
    assert again.status == "duplicate"
    with psycopg.connect(libpq_url(db)) as conn:
        assert conn.execute("SELECT count(*) FROM raw.penalties WHERE source_file = %s", (rel,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM ops.rejected_rows WHERE source_file = %s", (rel,)).fetchone()[0] == 0
        status, dup_of = conn.execute("SELECT status, duplicate_of FROM ops.load_batches WHERE source_file = %s",
                                      (rel,)).fetchone()  # fmt: skip
    assert status == "duplicate" and dup_of is not None


@pytest.mark.server_version
@pytest.mark.parametrize(("text", "expected"), [
    ("2024-01-05", dt.date(2024, 1, 5)), ("2024/1/5", dt.date(2024, 1, 5)), ("2024.1.5", dt.date(2024, 1, 5)),
    ("20240105", dt.date(2024, 1, 5)), ("2024年1月5日", dt.date(2024, 1, 5)), ("45296", dt.date(2024, 1, 5)),
    ("2024-01-05 13:45:00", dt.date(2024, 1, 5)), ("２０２４－０１－０５", dt.date(2024, 1, 5)),
    ("2024-02-29", dt.date(2024, 2, 29)), ("2023-02-29", None), ("2024-13-01", None), ("0", None), ("", None),
    ("明天", None),
])  # fmt: skip
def test_the_date_forms_departments_use(db, text, expected):
    """ops.to_date (used by the dbt staging models) and ops.parse_date_text (used by validation) agree."""
    with psycopg.connect(libpq_url(db)) as conn:
        assert conn.execute("SELECT ops.to_date(%s), ops.parse_date_text(%s)", (text, text)).fetchone() == (
            expected, expected)


def test_enumerations_scales_by_system_and_periods(db, tmp_path):
    """Commitments, external grades and manual adjustments: the values each column allows, with reason codes."""
    url = libpq_url(url_for("loader", db))
    _write_csv(tmp_path / "departments/fgj/commitments.csv",
               ["统一社会信用代码", "承诺日期", "是否同意公开", "履约状态"],
               [[GOOD, "2025-03-01", "是", "已履约"], [OTHER, "2025-03-02", " 否 ", "履约中"],
                [GOOD, "2025-03-03", "同意", "已履约"], [GOOD, "2025-03-04", "是", "守信"],
                [GOOD, "2025-03-05", "", "未履约"]])  # fmt: skip
    _write_csv(tmp_path / "departments/fgj/external_grades.csv",
               ["统一社会信用代码", "评价体系", "评价结果", "评价日期"],
               [[GOOD, "纳税信用", "M", "2025-04-01"], [OTHER, "环保信用", "绿", "2025-04-01"],
                [GOOD, "纳税信用", "AA", "2025-04-01"], [GOOD, "公路建设市场信用", "AA", "2025-04-01"],
                [GOOD, "银行信用", "A", "2025-04-01"]])  # fmt: skip
    _write_csv(tmp_path / "departments/jtj/grade_adjustments.csv",
               ["调整编号", "统一社会信用代码", "行业代码", "评价期", "调整后等级", "调整理由", "审批人", "审批日期"],
               [["TZ-1", GOOD, "transport", "2025-H2", "B-", "现场核查发现隐患", "王局长", "2025-12-20"],
                ["TZ-2", GOOD, "transport", "2025-H3", "B", "理由", "王局长", "2025-12-20"],
                ["TZ-3", GOOD, "transport", "2025-H2", "良", "理由", "", "2025-12-20"]])  # fmt: skip
    for rel in ["departments/fgj/commitments.csv", "departments/fgj/external_grades.csv",
                "departments/jtj/grade_adjustments.csv"]:  # fmt: skip
        loader.load_file(url, rel, inbox=tmp_path, archive_dir=tmp_path / "a", as_of=AS_OF)
    assert _rejected(db, "departments/fgj/commitments.csv") == {
        3: ["value_not_allowed"], 4: ["value_not_allowed"], 5: ["required_missing"]}
    assert _rejected(db, "departments/fgj/external_grades.csv") == {3: ["value_not_allowed"], 5: ["value_not_allowed"]}
    assert {r: sorted(c) for r, c in _rejected(db, "departments/jtj/grade_adjustments.csv").items()} == {
        2: ["period_invalid"], 3: ["grade_class_word", "required_missing"]}
    with psycopg.connect(libpq_url(db)) as conn:
        kept = conn.execute("SELECT ops.to_code(consent_to_publish), ops.to_code(fulfilment_status)"
                            " FROM raw.commitments ORDER BY row_number").fetchall()  # fmt: skip
    assert kept == [("是", "已履约"), ("否", "履约中")]


def test_a_file_under_an_unknown_department_fails_with_its_name(db, tmp_path):
    rel = "departments/nosuchdept/inspectors.csv"
    _write_csv(tmp_path / rel, ["执法人员编号", "姓名"], [["Z001", "王五"]])
    with pytest.raises(loader.LoadError, match=r"nosuchdept/inspectors.csv: unknown department code 'nosuchdept'"):
        loader.load_file(libpq_url(url_for("loader", db)), rel, inbox=tmp_path, archive_dir=tmp_path / "a")
    with psycopg.connect(libpq_url(db)) as conn:
        status, message = conn.execute("SELECT status, message FROM ops.load_batches WHERE source_file = %s",
                                       (rel,)).fetchone()  # fmt: skip
    assert status == "failed" and "unknown department code" in message


def test_a_ten_megabyte_cell_loads_on_either_path(db, tmp_path):
    """COPY takes it; so must the Python parser that reads a file COPY refused (here: for a blank line)."""
    facts = "经查" * (5 << 20)  # 10 MiB of characters
    header = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_SY", "CF_CFLB", "CF_JDRQ"]
    rows = [["甲", GOOD, facts, "警告", "2025-05-01"], ["乙", OTHER, "短", "警告", "2025-05-02"]]
    url = libpq_url(url_for("loader", db))
    for name, blank in [("penalties_big_cell.csv", False), ("penalties_big_cell_blank_line.csv", True)]:
        path = tmp_path / "departments/scjgj" / name
        _write_csv(path, header, rows[:1])
        with open(path, "a", encoding="utf-8", newline="") as fh:
            if blank:
                fh.write("\r\n")
            csv.writer(fh).writerows(rows[1:])
        result = loader.load_file(url, f"departments/scjgj/{name}", inbox=tmp_path, archive_dir=tmp_path / "a",
                                  as_of=AS_OF)  # fmt: skip
        assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (2, 2, 0), name
        with psycopg.connect(libpq_url(db)) as conn:
            assert conn.execute("SELECT length(facts) FROM raw.penalties WHERE source_file = %s AND row_number = 1",
                                (f"departments/scjgj/{name}",)).fetchone()[0] == len(facts)  # fmt: skip
