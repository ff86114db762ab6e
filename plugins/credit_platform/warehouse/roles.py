"""The database roles every component connects as (the catalogue: names, password variables).

Each role's password comes from ``CREDIT_<COMPONENT>_PASSWORD`` where that is set (never from
the repository), otherwise from the embedded server's password file. The URL each role connects
with is built in ``urls.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    component: str  # short name used in settings: loader, transformer, ...
    name: str  # PostgreSQL role name
    purpose: str

    @property
    def password_env(self) -> str:
        return f"CREDIT_{self.component.upper()}_PASSWORD"

    @property
    def airflow_conn_id(self) -> str:
        return f"warehouse_{self.component}"


ROLES: dict[str, Role] = {
    r.component: r
    for r in (
        Role("airflow", "credit_airflow", "owns Airflow's metadata database"),
        Role("loader", "credit_loader", "writes raw and its ops tables (load batches, rejects)"),
        Role("transformer", "credit_transformer", "dbt: reads raw, writes staging, intermediate, marts"),
        Role("publisher", "credit_publisher", "reads marts, writes publish and publication records in ops"),
        Role("analyst", "credit_analyst", "reads marts"),
        Role("public_reader", "credit_public_reader", "reads only the public views in publish"),
    )
}

#: Group role (no login) that holds the grants of authorised recipients (依授权公开).
AUTHORISED_GROUP = "credit_authorised"
RECIPIENT_PREFIX = "credit_recipient_"
_RECIPIENT_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


def role(component: str) -> Role:
    try:
        return ROLES[component]
    except KeyError:
        raise ValueError(f"unknown component {component!r}; known: {', '.join(ROLES)}") from None


def recipient_role_name(slug: str) -> str:
    """The login role of one authorised recipient, e.g. ``bank_of_huairen`` -> ``credit_recipient_bank_of_huairen``."""
    if not _RECIPIENT_RE.match(slug):
        raise ValueError(
            f"recipient name {slug!r} must be 2-41 lower-case letters, digits or underscores, starting with a letter"
        )
    return RECIPIENT_PREFIX + slug
