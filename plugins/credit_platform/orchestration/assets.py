"""The Airflow Assets that chain the DAGs: ingest -> grade -> draw -> publish.

Each asset has a readable name and a ``credit://`` address (what it stands for in the warehouse),
and carries a description in Chinese and English in its ``extra``. The names stay those of earlier
releases: Airflow identifies an asset by name and address together, and a new name for an address
in use stays inactive, failing the tasks that emit it, until the scheduler retires the old one.
Every event a task emits on one carries the figures of its run (``tasks.report_to_outlets``): rows
loaded and rejected, grades per class and the drift, plans drawn, batches sent.
"""

from __future__ import annotations

from airflow.sdk import Asset


def _asset(name: str, path: str, description: str) -> Asset:
    return Asset(name=name, uri=f"credit://warehouse/{path}", group="credit", extra={"description": description})


RAW_PROVINCE = _asset(
    "raw_province_evaluations",
    "raw/province_evaluations",
    "省级公共信用综合评价：省平台推送并已入库、通过校验的批次 / the province's evaluations, loaded and gated;"
    " an event per ingest run that loaded something, with rows loaded and rejected",
)
RAW_DEPARTMENTS = _asset(
    "raw_department_records",
    "raw/department_records",
    "部门信用记录：行政处罚、许可、表彰、黑名单、承诺、抽查结果等 / the departments' records, loaded and"
    " gated; an event per ingest run that loaded something, with rows loaded and rejected",
)
GRADES = _asset(
    "validated_industry_credit_grades",
    "marts/fct_industry_credit_grades",
    "行业信用评价结果（已通过数据质量检查）/ the industries' credit grades, validated by the marts checkpoint;"
    " each event carries the grades per class and the drift (PSI) per industry",
)
INSPECTION_PLANS = _asset(
    "inspection_plans",
    "ops/inspection_plans",
    "双随机抽查计划 / the double-random inspection plans drawn; each event carries the round, plans and tasks",
)
PUBLICATIONS = _asset(
    "publications_sent",
    "ops/publications",
    "共享平台发布记录 / the batches sent to the sharing platforms; an event per platform sent, with its"
    " batches, items sent and withdrawn",
)
