"""The top layer: Dagster wiring, the command line and the steps that only it runs (parsing is in
extract/, the business rules in dbt_project/, the delivery packaging in deliver/).

- `cli.py`: `stralebruk` (generate, run, deliver, ui); it hands paths from `settings.py` down.
- `definitions.py`: the one `Definitions`, loaded from `defs/` (extract → transform → serve →
  deliver, plus `automation.py`: inbox sensor, nightly refresh, monthly RHF and yearly DSA
  deliveries, all off until switched on in the UI).
- `run.py`: `stralebruk run`, the whole graph in-process; `ui.py`: `stralebruk ui` (`dagster dev`);
  `publish.py`: the atomic swap of the served warehouse (marts and reference only, read-only);
  `recovery.py`: at each start, runs whose process died are failed, their pool slots freed and
  their leftovers removed; `lifetime.py`: the watchdog that kills a run's dbt and ingest workers
  when the run's process dies; `settings.py`: where everything lives;
  `project.py`, `resources.py`, `checks.py`: the dbt project, the data-directory resource and the
  freshness and ledger functions the assets share.
- The Dagster instance of a data directory is `<data dir>/dagster/` (`instance.py`): both commands
  use it, so the UI shows the runs the command line made. Its `dagster.yaml` limits the pools
  `lake` (ingest) and `warehouse` (everything that opens the DuckDB build file) to one step at a time.
"""
