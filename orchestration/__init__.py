"""Dagster wiring only (the parsing is in extract/, the business rules in dbt_project/).

- `definitions.py`: the one `Definitions`, loaded from `defs/` (extract → transform → serve →
  deliver, plus `automation.py`: inbox sensor, nightly refresh, monthly RHF and yearly DSA
  deliveries, all off until switched on in the UI).
- `run.py`: `stralebruk run`, the whole graph in-process; `ui.py`: `stralebruk ui` (`dagster dev`).
- The Dagster instance of a data directory is `<data dir>/dagster/` (`instance.py`): both commands
  use it, so the UI shows the runs the command line made. Its `dagster.yaml` limits the pools
  `lake` (ingest) and `warehouse` (everything that opens the DuckDB build file) to one step at a time.
"""
