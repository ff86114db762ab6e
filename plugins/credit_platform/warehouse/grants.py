"""What each component's role may do in each schema: the single statement of the access design.

The migrations implement it; ``credit_platform.warehouse.health`` and the tests check the server against it.
"""

from __future__ import annotations

SCHEMAS = ("raw", "staging", "intermediate", "marts", "history", "publish", "ops")

#: component -> schema -> privileges on the schema itself (anything absent must be refused).
SCHEMA_PRIVILEGES: dict[str, dict[str, frozenset[str]]] = {
    "loader": {"raw": frozenset({"USAGE"}), "ops": frozenset({"USAGE"})},
    "transformer": {
        "raw": frozenset({"USAGE"}),
        "staging": frozenset({"USAGE", "CREATE"}),
        "intermediate": frozenset({"USAGE", "CREATE"}),
        "marts": frozenset({"USAGE", "CREATE"}),
        "history": frozenset({"USAGE", "CREATE"}),
        "ops": frozenset({"USAGE"}),
    },
    "publisher": {
        "marts": frozenset({"USAGE"}),
        "history": frozenset({"USAGE"}),
        "publish": frozenset({"USAGE", "CREATE"}),
        "ops": frozenset({"USAGE"}),
    },
    "analyst": {"marts": frozenset({"USAGE"}), "history": frozenset({"USAGE"}), "ops": frozenset({"USAGE"})},
    "public_reader": {"publish": frozenset({"USAGE"})},
}

#: component -> ops table -> table privileges (anything absent must be refused).
_R = frozenset({"SELECT"})
OPS_TABLE_PRIVILEGES: dict[str, dict[str, frozenset[str]]] = {
    "loader": {
        "load_batches": frozenset({"SELECT", "INSERT", "UPDATE"}),
        "rejected_rows": frozenset({"SELECT", "INSERT"}),
        "unreturned_rows": frozenset({"SELECT", "INSERT"}),
        "pull_watermarks": frozenset({"SELECT", "INSERT", "UPDATE"}),
        "validation_runs": frozenset({"SELECT", "INSERT"}),
        "schema_migrations": _R,
    },
    "transformer": {
        "load_batches": _R,
        "period_closures": _R,
        "inspection_plans": _R,
        "inspection_tasks": _R,
        "inspection_population": _R,
        "work_calendar": _R,
        "case_events": _R,
        "schema_migrations": _R,
    },
    "publisher": {
        "publications": frozenset({"SELECT", "INSERT", "UPDATE"}),
        "publication_batch_items": frozenset({"SELECT", "INSERT"}),
        "publication_state": frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"}),
        "recipient_authorisations": _R,
        "period_closures": _R,
        "publication_approvals": _R,
        "inspection_plans": frozenset({"SELECT", "INSERT", "DELETE"}),
        "inspection_tasks": frozenset({"SELECT", "INSERT", "DELETE"}),
        "inspection_population": frozenset({"SELECT", "INSERT", "DELETE"}),
        "validation_runs": frozenset({"SELECT", "INSERT"}),
        "work_calendar": _R,
        "commitment_letters": frozenset({"SELECT", "INSERT", "UPDATE"}),
        "case_events": frozenset({"SELECT", "INSERT"}),
        "subject_letters": frozenset({"SELECT", "INSERT", "UPDATE"}),
        "draw_announcements": frozenset({"SELECT", "INSERT", "UPDATE"}),
        "schema_migrations": _R,
    },
    "analyst": {
        "load_batches": _R,
        "rejected_rows": _R,
        "unreturned_rows": _R,
        "publications": _R,
        "publication_batch_items": _R,
        "publication_state": _R,
        "recipient_authorisations": _R,
        "inspection_plans": _R,
        "inspection_tasks": _R,
        "inspection_population": _R,
        "validation_runs": _R,
        "pull_watermarks": _R,
        "period_closures": _R,
        "publication_approvals": _R,
        "work_calendar": _R,
        "commitment_letters": _R,
        "case_events": _R,
        "subject_letters": _R,
        "draw_announcements": _R,
        "schema_migrations": _R,
    },
    "public_reader": {},
}
OPS_TABLES = (
    "load_batches",
    "rejected_rows",
    "unreturned_rows",
    "publications",
    "publication_batch_items",
    "publication_state",
    "recipient_authorisations",
    "inspection_plans",
    "inspection_tasks",
    "inspection_population",
    "validation_runs",
    "pull_watermarks",
    "period_closures",
    "publication_approvals",
    "work_calendar",
    "commitment_letters",
    "case_events",
    "subject_letters",
    "draw_announcements",
    "schema_migrations",
)
TABLE_PRIVILEGE_NAMES = ("SELECT", "INSERT", "UPDATE", "DELETE")
