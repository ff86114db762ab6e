"""What each component's role may do in each schema: the single statement of the access design.

The migrations implement it; ``credit_platform.health`` and the tests check the server against it.
"""

from __future__ import annotations

SCHEMAS = ("raw", "staging", "intermediate", "marts", "publish", "ops")

#: component -> schema -> privileges on the schema itself (anything absent must be refused).
SCHEMA_PRIVILEGES: dict[str, dict[str, frozenset[str]]] = {
    "loader": {"raw": frozenset({"USAGE"}), "ops": frozenset({"USAGE"})},
    "transformer": {
        "raw": frozenset({"USAGE"}),
        "staging": frozenset({"USAGE", "CREATE"}),
        "intermediate": frozenset({"USAGE", "CREATE"}),
        "marts": frozenset({"USAGE", "CREATE"}),
        "ops": frozenset({"USAGE"}),
    },
    "publisher": {
        "marts": frozenset({"USAGE"}),
        "publish": frozenset({"USAGE", "CREATE"}),
        "ops": frozenset({"USAGE"}),
    },
    "analyst": {"marts": frozenset({"USAGE"}), "ops": frozenset({"USAGE"})},
    "public_reader": {"publish": frozenset({"USAGE"})},
}

#: component -> ops table -> table privileges (anything absent must be refused).
OPS_TABLE_PRIVILEGES: dict[str, dict[str, frozenset[str]]] = {
    "loader": {
        "load_batches": frozenset({"SELECT", "INSERT", "UPDATE"}),
        "schema_migrations": frozenset({"SELECT"}),
    },
    "transformer": {"load_batches": frozenset({"SELECT"}), "schema_migrations": frozenset({"SELECT"})},
    "publisher": {
        "publications": frozenset({"SELECT", "INSERT", "UPDATE"}),
        "schema_migrations": frozenset({"SELECT"}),
    },
    "analyst": {
        "load_batches": frozenset({"SELECT"}),
        "publications": frozenset({"SELECT"}),
        "schema_migrations": frozenset({"SELECT"}),
    },
    "public_reader": {},
}
OPS_TABLES = ("load_batches", "publications", "schema_migrations")
TABLE_PRIVILEGE_NAMES = ("SELECT", "INSERT", "UPDATE", "DELETE")
