import json

import pytest

from credit_platform.local.airflow_env import connection_json
from credit_platform.warehouse import grants
from credit_platform.warehouse.roles import ROLES, recipient_role_name
from credit_platform.warehouse.urls import libpq_url, url_for

BASE = "postgresql+psycopg2://admin:adminpw@db.internal:6543/credit?sslmode=require"


def test_component_url_keeps_server_and_database_and_swaps_the_user(monkeypatch):
    monkeypatch.delenv("CREDIT_LOADER_PASSWORD", raising=False)
    url = url_for("loader", BASE)
    assert url == "postgresql+psycopg2://credit_loader@db.internal:6543/credit?sslmode=require"


def test_component_password_comes_from_its_own_variable(monkeypatch):
    monkeypatch.setenv("CREDIT_PUBLISHER_PASSWORD", "p@ss:w/rd")
    url = url_for("publisher", BASE)
    assert "adminpw" not in url
    assert libpq_url(url).startswith("postgresql://credit_publisher:p%40ss%3Aw%2Frd@db.internal:6543/")


def test_unknown_component_is_refused():
    with pytest.raises(ValueError, match="unknown component"):
        url_for("superuser", BASE)


def test_recipient_names_are_checked():
    assert recipient_role_name("huairen_rural_bank") == "credit_recipient_huairen_rural_bank"
    for bad in ["Bank", "x", "bank; drop role postgres", "银行"]:
        with pytest.raises(ValueError):
            recipient_role_name(bad)


def test_airflow_connection_json_carries_every_part(monkeypatch):
    monkeypatch.setenv("CREDIT_ANALYST_PASSWORD", "s3cret")
    conn = json.loads(connection_json(url_for("analyst", BASE)))
    assert conn == {
        "conn_type": "postgres",
        "host": "db.internal",
        "port": 6543,
        "login": "credit_analyst",
        "schema": "credit",
        "password": "s3cret",
        "extra": {"sslmode": "require"},
    }


def test_access_design_names_only_known_components_and_schemas():
    assert set(grants.SCHEMA_PRIVILEGES) == set(ROLES) - {"airflow"}
    assert set(grants.OPS_TABLE_PRIVILEGES) == set(grants.SCHEMA_PRIVILEGES)
    for privileges in grants.SCHEMA_PRIVILEGES.values():
        assert set(privileges) <= set(grants.SCHEMAS)
    # nobody but the transformer builds models, nobody but the publisher writes publish
    creators = {c: {s for s, p in v.items() if "CREATE" in p} for c, v in grants.SCHEMA_PRIVILEGES.items()}
    assert creators == {
        "loader": set(),
        "transformer": {"staging", "intermediate", "marts", "history"},
        "publisher": {"publish"},
        "analyst": set(),
        "public_reader": set(),
    }


def _passfile(tmp_path, monkeypatch, port: int) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "warehouse.pgpass").write_text(
        f"127.0.0.1:{port}:*:postgres:superpw\n127.0.0.1:{port}:*:credit_loader:loaderpw\n", encoding="utf-8"
    )
    monkeypatch.setenv("CREDIT_LOCAL_DIR", str(local))
    monkeypatch.delenv("CREDIT_LOADER_PASSWORD", raising=False)


def test_a_role_on_the_embedded_server_gets_its_password_from_the_local_password_file(tmp_path, monkeypatch):
    _passfile(tmp_path, monkeypatch, 54999)
    base = "postgresql://postgres:superpw@127.0.0.1:54999/credit_test_x"
    assert url_for("loader", base) == "postgresql://credit_loader:loaderpw@127.0.0.1:54999/credit_test_x"
    monkeypatch.setenv("CREDIT_LOADER_PASSWORD", "fromenv")
    assert url_for("loader", base).startswith("postgresql://credit_loader:fromenv@")


def test_another_server_on_the_same_machine_gets_no_password_from_that_file(tmp_path, monkeypatch):
    _passfile(tmp_path, monkeypatch, 54999)
    assert url_for("loader", "postgresql://postgres@127.0.0.1:5432/credit") == (
        "postgresql://credit_loader@127.0.0.1:5432/credit"
    )
