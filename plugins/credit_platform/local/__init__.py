"""The platform on one machine: local Airflow services, the demo chain and its summary, benchmarks, the docs site."""
