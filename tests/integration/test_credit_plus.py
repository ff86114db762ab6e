"""信用+ lists (联合激励): each partner programme receives the subjects of its admitted grade classes
who authorised the partner, through the publication machinery and its own database role, and
nothing else; a subject whose grade leaves the admitted classes is withdrawn at the next run."""

from __future__ import annotations

import csv
import datetime as dt
import re
from importlib import resources

import psycopg
import pytest
import yaml
from psycopg import errors
from sql import rows

from credit_platform.local import chain
from credit_platform.local.reports import authorise_partners
from credit_platform.publish import config, publish
from credit_platform.quality.checkpoints import run_checkpoint
from credit_platform.warehouse import access
from credit_platform.warehouse.urls import libpq_url, url_for, with_user

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 1, 20)


def _shipped() -> dict:
    return yaml.safe_load(resources.files("credit_platform.publish").joinpath("publication.yml").read_text("utf-8"))


def _partners_only() -> config.Config:
    """The shipped configuration with no platform but the 信用+ partners."""
    data = _shipped()
    data["platforms"] = {}
    return config.parse(data)


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("creditplus") as c:
        c["publisher"] = libpq_url(url_for("publisher", c["url"]))
        assert run_checkpoint(c["publisher"], "marts").success
        yield c


def _latest(city) -> dict[tuple[str, str], str]:
    """(uscc, industry) -> the class of the subject's latest grade in the industry, from the marts."""
    return {(u, i): c for u, i, c in rows(city["admin"],
            "SELECT DISTINCT ON (uscc, industry_code) uscc, industry_code, grade_class"
            " FROM marts.fct_industry_credit_grades ORDER BY uscc, industry_code, period_end_date DESC")}  # fmt: skip


def _held(city, platform: str) -> set[str]:
    return {k for (k,) in rows(city["admin"], "SELECT item_key FROM ops.publication_state WHERE platform = %s"
                                              " AND dataset = 'credit_plus'", (platform,))}  # fmt: skip


def _expected(cfg, programme, latest, authorised: set[str]) -> set[str]:
    return {f"{programme.name}|{ind}|{u}" for (u, ind), cls in latest.items()
            if cls in programme.classes and u in authorised and cfg.grade_level(ind) != "internal"
            and (not programme.industries or ind in programme.industries)}  # fmt: skip


def test_each_partner_gets_its_consenting_subjects_of_admitted_classes_and_reads_nothing_else(city, tmp_path):
    cfg = _partners_only()
    bank, centre = cfg.programmes["xinyidai"], cfg.programmes["trading"]
    latest = _latest(city)
    subjects = sorted({u for u, _ in latest})
    # Half the subjects authorised the bank, a third the trading centre; one A subject graded in an
    # industry whose grades stay internal authorised the bank too.
    internal = sorted(u for (u, ind), cls in latest.items() if cls == "A" and cfg.grade_level(ind) == "internal")
    assert internal, "the test city has an A grade in an internal industry"
    by = {bank.recipient: set(subjects[::2]) | {internal[0]}, centre.recipient: set(subjects[::3])}
    try:
        for slug, usccs in by.items():
            access.add_recipient(city["url"], slug)
            access.authorise(city["url"], slug, sorted(usccs), reference="授权书", valid_from=dt.date(2025, 1, 1))
        publish(city["publisher"], config=cfg, as_of=AS_OF, outbox=tmp_path / "outbox", spool=tmp_path / "spool",
                sleep=lambda s: None)  # fmt: skip
        want_bank = _expected(cfg, bank, latest, by[bank.recipient])
        want_centre = _expected(cfg, centre, latest, by[centre.recipient])
        assert want_bank and want_centre and not any(internal[0] in k and "statistics" in k for k in want_bank)
        assert _held(city, bank.platform) == want_bank
        assert _held(city, centre.platform) == want_centre
        assert {k.split("|")[1] for k in want_centre} <= set(centre.industries)
        # The partner's file carries its programme's columns only, with their Chinese headers.
        (path,) = (tmp_path / "outbox" / bank.platform).glob("credit_plus_*.csv")
        with open(path, encoding="gb18030", newline="") as fh:
            header = next(csv.reader(fh))
        headers = cfg.datasets["credit_plus"].headers
        assert header[-len(bank.columns):] == [headers[c] for c in bank.columns] and "评价截止日期" not in header
        # Each partner's role reads its own list and nothing else.
        for prog, want in ((bank, want_bank), (centre, want_centre)):
            role = f"credit_recipient_{prog.recipient}"
            with psycopg.connect(libpq_url(with_user(city["url"], role))) as conn:
                seen = conn.execute("SELECT programme_title, industry_name, uscc FROM publish.authorised_credit_plus"
                                    ).fetchall()  # fmt: skip
                assert len(seen) == len(want) and {t for t, _, _ in seen} == {prog.title}
                assert {u for _, _, u in seen} == {k.split("|")[2] for k in want}
                for statement in ("SELECT * FROM publish.credit_plus", "SELECT * FROM publish.grades",
                                  "SELECT * FROM marts.fct_industry_credit_grades"):
                    with pytest.raises(errors.InsufficientPrivilege):
                        conn.execute(statement)
                    conn.rollback()
        # A subject whose grade leaves the admitted classes is withdrawn from the partner next time.
        dropped = sorted(want_bank)[0]
        _, industry, uscc = dropped.split("|")
        rows(city["admin"], "UPDATE marts.fct_industry_credit_grades SET grade = 'C', grade_class = 'C'"
                            " WHERE uscc = %s AND industry_code = %s", (uscc, industry))  # fmt: skip
        publish(city["publisher"], config=cfg, as_of=AS_OF, outbox=tmp_path / "outbox", spool=tmp_path / "spool",
                sleep=lambda s: None)  # fmt: skip
        assert _held(city, bank.platform) == want_bank - {dropped}
        assert rows(city["admin"], "SELECT i.action FROM ops.publication_batch_items AS i JOIN ops.publications AS p"
                                   " USING (publication_id) WHERE p.platform = %s AND i.item_key = %s"
                                   " ORDER BY i.publication_id",
                    (bank.platform, dropped)) == [("upsert",), ("withdraw",)]  # fmt: skip
        # So is one whose authorisation ended.
        ended = sorted(want_centre)[0].split("|")[2]
        rows(city["admin"], "UPDATE ops.recipient_authorisations SET valid_to = %s WHERE recipient_role = %s"
                            " AND uscc = %s", (AS_OF - dt.timedelta(days=1), f"credit_recipient_{centre.recipient}",
                                               ended))  # fmt: skip
        publish(city["publisher"], config=cfg, as_of=AS_OF, outbox=tmp_path / "outbox", spool=tmp_path / "spool",
                sleep=lambda s: None)  # fmt: skip
        assert _held(city, centre.platform) == {k for k in want_centre if k.split("|")[2] != ended}
    finally:
        for slug in by:
            access.remove_recipient(city["url"], slug)


def test_a_programme_is_checked_when_the_configuration_is_read():
    for change, message in (({"classes": ["A", "E"]}, "classes"), ({"columns": ["subject_name"]}, "must include uscc"),
                            ({"columns": ["uscc", "score"]}, "be among.*period_end_date"),
                            ({"recipient": "Bank!"}, "recipient"),
                            ({"transport": "http"}, "needs a connection")):  # fmt: skip
        data = _shipped()
        data["programmes"]["xinyidai"].update(change)
        with pytest.raises(config.ConfigError, match=message):
            config.parse(data)
    data = _shipped()
    del data["datasets"]["credit_plus"]
    with pytest.raises(config.ConfigError, match="partners_only"):
        config.parse(data)
    cfg = config.load()  # shipped: the partners receive only their list; the platforms never receive it
    for platform in cfg.platforms.values():
        got = {name for name, ds in cfg.datasets.items() if cfg.columns_for(platform, ds)}
        assert got == ({"credit_plus"} if platform.programme else set(cfg.datasets) - {"credit_plus"}), platform.name


def test_the_demo_partners_and_the_summary_lines(city, tmp_path):
    """make demo authorises the partners for a seeded share of the subjects after grading, so that
    the publication delivers the lists; the summary prints each list's size."""
    cfg = _partners_only()
    n = len({u for (u,) in rows(city["admin"], "SELECT uscc FROM marts.dim_subjects")})
    try:
        partners = authorise_partners(city["url"], share=0.2)
        assert partners.recipients == [p.recipient for p in cfg.programmes.values()]
        assert partners.authorisations == len(cfg.programmes) * int(n * 0.2)
        publish(city["publisher"], config=cfg, outbox=tmp_path / "outbox", spool=tmp_path / "spool",
                sleep=lambda s: None)  # fmt: skip
        text = chain.summary(city["url"])
        assert "信用+ lists (联合激励" in text
        for prog in cfg.programmes.values():
            listed = _held(city, prog.platform)
            assert listed and re.search(rf"\n  {prog.name} +{int(n * 0.2)} +{len(listed)} ", text), text[-1500:]
    finally:
        for prog in cfg.programmes.values():
            access.remove_recipient(city["url"], prog.recipient)
