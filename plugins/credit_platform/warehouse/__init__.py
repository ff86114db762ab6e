"""The PostgreSQL warehouse: where it is, who may connect as what, and its migrations."""
