"""Grading: dbt run as the transformer, Cosmos rendering, closed periods and re-grading, what-if, explanations."""
