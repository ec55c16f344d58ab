import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.project import dbt_project
from orchestration.resources import DataDir
from orchestration.settings import DBT_EXECUTABLE


@dg.definitions
def resources() -> dg.Definitions:
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    return dg.Definitions(resources={"data": DataDir(), "dbt": dbt})
