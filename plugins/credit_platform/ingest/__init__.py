"""Files and pushes from the inbox into ``raw``, every row loaded or rejected with a reason.

Public to other folders: ``raw_tables`` (what each raw table's columns must hold), and the modules
named in this folder's README.
"""

from credit_platform.ingest.column_rules import ColumnRule, RawTable, raw_tables

__all__ = ["ColumnRule", "RawTable", "raw_tables"]
