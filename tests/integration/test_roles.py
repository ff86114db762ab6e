"""Each component connects as its own role and is refused outside its grants (real PostgreSQL).

A small stand-in for each layer is created the way later stages will create it: a raw table by
the administrator (as a migration would), models by the transformer (as dbt would), views by the
publisher. Each statement then runs as one role, in a transaction that is rolled back.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from credit_platform.warehouse import access, health, migrate
from credit_platform.warehouse.urls import libpq_url, url_for, with_user

pytestmark = [pytest.mark.integration, pytest.mark.server_version]

RECIPIENT = "test_rural_bank"


@pytest.fixture(scope="module")
def layers(warehouse, role_url):
    with psycopg.connect(libpq_url(warehouse), autocommit=True) as admin:
        admin.execute("CREATE TABLE raw.sample_penalties (row_number int, subject_name text)")
    with psycopg.connect(libpq_url(role_url("transformer")), autocommit=True) as dbt:
        dbt.execute("CREATE TABLE staging.sample_stg AS SELECT 1 AS id")
        dbt.execute("CREATE TABLE marts.sample_grades AS SELECT '91140681MA0K000000'::text AS uscc, 'A'::text AS grade")
    with psycopg.connect(libpq_url(role_url("publisher")), autocommit=True) as pub:
        pub.execute("CREATE VIEW publish.public_grades AS SELECT uscc, grade FROM marts.sample_grades")
        pub.execute("CREATE VIEW publish.authorised_grades AS SELECT uscc, grade FROM marts.sample_grades")
        pub.execute("CREATE TABLE publish.internal_list AS SELECT uscc FROM marts.sample_grades")
        access.grant_view(pub, "public_grades", "public")
        access.grant_view(pub, "authorised_grades", "authorised")
    access.add_recipient(warehouse, RECIPIENT)
    yield
    access.remove_recipient(warehouse, RECIPIENT)


def recipient_url(warehouse: str) -> str:
    return libpq_url(with_user(warehouse, f"credit_recipient_{RECIPIENT}"))


ALLOWED = {
    "loader": [
        "INSERT INTO raw.sample_penalties VALUES (1, '怀仁市某某商贸有限公司')",
        "INSERT INTO ops.load_batches (source, source_file) VALUES ('penalty', 'cf.csv')",
        "SELECT count(*) FROM ops.schema_migrations",
    ],
    "transformer": [
        "SELECT * FROM raw.sample_penalties",
        "CREATE TABLE staging.stg_x (i int)",
        "CREATE TABLE intermediate.int_x (i int)",
        "CREATE TABLE marts.fct_x (i int)",
        "CREATE TEMPORARY TABLE t (i int)",
        "SELECT count(*) FROM ops.load_batches",
    ],
    "publisher": [
        "SELECT * FROM marts.sample_grades",
        "CREATE VIEW publish.v AS SELECT 1 AS one",
        "INSERT INTO ops.publications (platform, disclosure_level) VALUES ('city', 'public')",
    ],
    "analyst": [
        "SELECT * FROM marts.sample_grades",
        "SELECT count(*) FROM ops.load_batches",
        "SELECT count(*) FROM ops.publications",
    ],
    "public_reader": ["SELECT * FROM publish.public_grades"],
    "recipient": ["SELECT * FROM publish.authorised_grades", "SELECT * FROM publish.public_grades"],
}

REFUSED = {
    "loader": [
        "CREATE TABLE raw.loader_made (i int)",
        "SELECT * FROM staging.sample_stg",
        "SELECT * FROM marts.sample_grades",
        "INSERT INTO ops.publications (platform, disclosure_level) VALUES ('city', 'public')",
        "CREATE TABLE public.anything (i int)",
        "CREATE TEMPORARY TABLE t (i int) ON COMMIT DROP; DELETE FROM ops.load_batches",
    ],
    "transformer": [
        "INSERT INTO raw.sample_penalties VALUES (2, 'x')",
        "CREATE TABLE raw.dbt_made (i int)",
        "CREATE TABLE publish.dbt_made (i int)",
        "SELECT * FROM ops.publications",
        "INSERT INTO ops.load_batches (source) VALUES ('penalty')",
    ],
    "publisher": [
        "SELECT * FROM raw.sample_penalties",
        "SELECT * FROM staging.sample_stg",
        "CREATE TABLE marts.publisher_made (i int)",
        "INSERT INTO ops.load_batches (source) VALUES ('penalty')",
    ],
    "analyst": [
        "SELECT * FROM raw.sample_penalties",
        "SELECT * FROM staging.sample_stg",
        "INSERT INTO marts.sample_grades VALUES ('x', 'D')",
        "CREATE TABLE marts.analyst_made (i int)",
        "SELECT * FROM publish.internal_list",
        "CREATE TEMPORARY TABLE t (i int)",
    ],
    "public_reader": [
        "SELECT * FROM publish.authorised_grades",
        "SELECT * FROM publish.internal_list",
        "SELECT * FROM marts.sample_grades",
        "SELECT * FROM ops.load_batches",
        "CREATE TABLE publish.reader_made (i int)",
    ],
    "recipient": [
        "SELECT * FROM publish.internal_list",
        "SELECT * FROM marts.sample_grades",
        "SELECT * FROM raw.sample_penalties",
    ],
}


def _url(who: str, warehouse: str, role_url) -> str:
    return recipient_url(warehouse) if who == "recipient" else libpq_url(role_url(who))


def _run(url: str, statement: str) -> None:
    with psycopg.connect(url) as conn:
        try:
            conn.execute(statement)
        finally:
            conn.rollback()


@pytest.mark.parametrize(("who", "statement"), [(w, s) for w, ss in ALLOWED.items() for s in ss])
def test_allowed(layers, warehouse, role_url, who, statement):
    _run(_url(who, warehouse, role_url), statement)


@pytest.mark.parametrize(("who", "statement"), [(w, s) for w, ss in REFUSED.items() for s in ss])
def test_refused(layers, warehouse, role_url, who, statement):
    with pytest.raises(errors.InsufficientPrivilege):
        _run(_url(who, warehouse, role_url), statement)


def test_each_role_connects_as_itself(layers, role_url):
    for component in ALLOWED:
        if component == "recipient":
            continue
        with psycopg.connect(libpq_url(role_url(component))) as conn:
            who = conn.execute("SELECT current_user, session_user").fetchone()
        assert who == (f"credit_{component}", f"credit_{component}")


def test_airflow_role_cannot_enter_the_warehouse_and_components_cannot_enter_airflows_database(
    warehouse, role_url, airflow_db
):
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(libpq_url(role_url("airflow")))
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(libpq_url(url_for("loader", warehouse, database=airflow_db)))
    with psycopg.connect(libpq_url(url_for("airflow", warehouse, database=airflow_db))) as conn:
        conn.execute("CREATE TABLE airflow_may_create (i int)")
        conn.rollback()


def test_health_check_accepts_the_design_and_catches_a_stray_grant(layers, warehouse, role_url):
    assert health.check_role_boundaries(role_url) == {"components": 5}
    with psycopg.connect(libpq_url(warehouse), autocommit=True) as admin:
        admin.execute("GRANT SELECT ON ops.publications TO credit_loader")
        try:
            with pytest.raises(health.HealthError, match="loader: ops table privileges"):
                health.check_role_boundaries(role_url)
        finally:
            admin.execute("REVOKE SELECT ON ops.publications FROM credit_loader")
    assert health.check_migrations(role_url("analyst")) == {"applied": len(migrate.discover())}
