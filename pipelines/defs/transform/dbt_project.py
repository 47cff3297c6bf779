"""The dbt project, in its own module so `dagster-dbt project prepare-and-package` can import it early."""

from dagster_dbt import DbtProject

from pipelines.lib.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
