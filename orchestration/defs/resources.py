import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.project import dbt_project
from orchestration.resources import DataDir
from orchestration.settings import DBT_EXECUTABLE


@dg.definitions
def resources() -> dg.Definitions:
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    # Steps run one after the other anyway (the lake and warehouse pools hold one step each) and do
    # their parallel work inside (ingest worker processes, dbt threads): a process per step would
    # only add start-up time.
    return dg.Definitions(resources={"data": DataDir(), "dbt": dbt}, executor=dg.in_process_executor)
