"""Alerts to the data team: task failures as they happen, the overdue lists once a day."""
