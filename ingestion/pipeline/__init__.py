"""The nightly job's stages. The Airflow DAG wires these functions; `cchc run --direct` calls them in order."""
