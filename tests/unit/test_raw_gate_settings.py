"""The raw gate's threshold setting, the raw suite's queries, and the ledger that keeps quarantines."""

from __future__ import annotations

import pytest

from credit_platform.ingest.archive import append_ledger, read_ledger
from credit_platform.quality import raw_gate


@pytest.mark.parametrize(("value", "share"), [("", 0.20), ("0.05", 0.05), (" 0.5 ", 0.5), ("1", 1.0), ("0", 0.0)])
def test_threshold_is_read_from_the_environment(monkeypatch, value, share):
    monkeypatch.setenv("CREDIT_MAX_REJECTED_SHARE", value)
    assert raw_gate.max_rejected_share() == share


@pytest.mark.parametrize("value", ["20%", "-0.1", "1.01", "abc"])
def test_a_bad_threshold_is_refused_with_its_name(monkeypatch, value):
    monkeypatch.setenv("CREDIT_MAX_REJECTED_SHARE", value)
    with pytest.raises(SystemExit, match="CREDIT_MAX_REJECTED_SHARE"):
        raw_gate.max_rejected_share()


def test_a_later_ledger_line_updates_its_batch_and_keeps_the_rest(tmp_path):
    append_ledger(tmp_path, {"batch_id": 3, "source": "penalty", "as_of": "2026-01-15", "rows_in": 10,
                             "status": "loaded", "not_a_ledger_field": 1})  # fmt: skip
    append_ledger(tmp_path, {"batch_id": 4, "source": "licence", "as_of": "2026-01-15", "rows_in": 2})
    append_ledger(tmp_path, {"batch_id": 3, "status": "quarantined", "quarantine_reason": "too many rejected"})
    entries = read_ledger(tmp_path)
    assert [e["batch_id"] for e in entries] == [3, 4]
    assert entries[0] == {"batch_id": 3, "source": "penalty", "as_of": "2026-01-15", "rows_in": 10,
                          "status": "quarantined", "quarantine_reason": "too many rejected"}  # fmt: skip


def _raw_suite_module():
    from expectations import raw

    return raw


def test_every_source_gets_a_suite_whose_queries_gx_can_format():
    import great_expectations as gx

    from credit_platform.ingest.config import sources

    gx.get_context(mode="ephemeral")  # suites need a context to exist in
    raw = _raw_suite_module()
    batches = [{"batch_id": i, "source": name, "table": s.table} for i, (name, s) in enumerate(sources().items())]
    checks = raw.build(gx, batches, 0.2)
    assert len(checks) == 1 + len({b["table"] for b in batches})  # the batch records, then one per raw table
    assert sorted(k for c in checks[1:] for k in c["keys"]) == checks[0]["keys"] == list(range(len(batches)))
    for check in checks:
        for expectation in check["suite"].expectations:
            query = getattr(expectation, "unexpected_rows_query", None)
            if query:  # GX fills {batch}; any other brace must be doubled
                assert " AS r" in query or " AS b" in query
                assert "{batch} AS " in query and " JOIN " in query
                query.format(batch="(SELECT 1) AS x")
    penalty = next(c for c in checks if c["name"] == "raw.penalties")
    rules = [e.description for e in penalty["suite"].expectations]
    assert any("fine_amount" in (r or "") and "not negative" in r for r in rules)
    assert any("decision_date" in (r or "") and "not after the day the batch was loaded" in r for r in rules)


def test_identifiers_formatted_into_queries_must_be_plain():
    raw = _raw_suite_module()
    assert raw._identifier("raw.penalties") == "raw.penalties"
    with pytest.raises(ValueError):
        raw._identifier("raw.penalties; DROP TABLE x")
