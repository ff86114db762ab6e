"""Credit grading and classified supervision platform (信用分级分类监管).

Shared code for the Airflow DAGs, the command line (``credit-platform``) and the tests.
Heavy libraries (Airflow, dbt, Great Expectations, pandas) are imported inside functions,
never at module level, so importing this package is cheap and safe at DAG-parse time.
"""

__version__ = "0.1.0"
