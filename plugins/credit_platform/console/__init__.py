"""The supervision view in the Airflow UI (信用监管): figures, pages and the FastAPI app."""
