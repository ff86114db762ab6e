"""The Airflow Assets that chain the DAGs: ingest -> grade -> draw -> publish."""

from __future__ import annotations

from airflow.sdk import Asset

RAW_PROVINCE = Asset(name="raw_province_evaluations", uri="credit://warehouse/raw/province_evaluations")
RAW_DEPARTMENTS = Asset(name="raw_department_records", uri="credit://warehouse/raw/department_records")
GRADES = Asset(name="validated_industry_credit_grades", uri="credit://warehouse/marts/fct_industry_credit_grades")
INSPECTION_PLANS = Asset(name="inspection_plans", uri="credit://warehouse/ops/inspection_plans")
