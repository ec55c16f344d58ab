"""Delivery folders: files, spreadsheet, manifest, grain, no new version for a rebuild that changes
nothing, and the diff of two deliveries in a row."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from deliver import DeliveryError, deliver, grain_keys, make_delivery
from extract.lake import LEDGER_SCHEMA
from orchestration.cli import main as cli_main
from tests.contract import DELIVERY_MODELS
from tests.deliveries.conftest import YEAR, Harness

CUT = "2026-03-31"
REBUILD = ["--select", "path:models/intermediate/deliveries", "path:models/deliveries"]


def _serve(harness_db: Path, data_dir: Path) -> Path:
    """Publish a warehouse copy and a small ledger the way the pipeline lays them out."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(harness_db, data_dir / "warehouse.duckdb")
    ledger = data_dir / "lake" / "_ledger"
    ledger.mkdir(parents=True, exist_ok=True)
    rows = [
        {"file_id": "b" * 64, "status": "rejected", "module": "rad", "reason_class": "schema"},
        {"file_id": "a" * 64, "status": "loaded", "module": "raa", "reason_class": None},
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=LEDGER_SCHEMA), ledger / "part-0.parquet")
    return data_dir


def deliver_from(harness: Harness, data_dir: Path, kind: str, **kwargs) -> Path:
    """`deliver` with the data directory's layout, the grain from the scratch project's manifest."""
    return make_delivery_from(harness, data_dir, kind, **kwargs).folder


def make_delivery_from(harness: Harness, data_dir: Path, kind: str, **kwargs):
    """`make_delivery` as `deliver_from` calls `deliver`."""
    return make_delivery(
        kind,
        warehouse=data_dir / "warehouse.duckdb",
        lake=data_dir / "lake",
        deliveries=data_dir / "deliveries",
        dbt_manifest=harness.manifest,
        **kwargs,
    )


@pytest.fixture
def data_dir(harness, tmp_path) -> Path:
    return _serve(harness.db, tmp_path / "data")


def test_first_dsa_delivery_has_every_file_and_a_full_manifest(harness, data_dir):
    folder = deliver_from(harness, data_dir, "dsa", year=YEAR, cut=CUT)
    assert folder == data_dir / "deliveries" / "dsa" / CUT
    manifest = json.loads((folder / "manifest.json").read_text())
    tables = sorted(manifest["tables"])
    assert tables == sorted(m for m in DELIVERY_MODELS if m.startswith("dsa_"))
    for name in tables:
        parquet = pq.read_table(folder / f"{name}.parquet")
        csv = pa_csv.read_csv(folder / f"{name}.csv")
        assert parquet.num_rows == csv.num_rows == manifest["tables"][name]["rows"]
        # one hand-built year: no follow-up list, no one at 100 mSv to break down by examination group
        assert parquet.num_rows > 0 or name in (
            "dsa_facility_follow_up",
            "dsa_cumulative_dose_by_group",
        ), name
        assert set(parquet.column("year").to_pylist()) <= {YEAR}
    assert manifest["tables"]["dsa_drl"]["grain"] == ["year", "procedure_code", "dose_type"]
    assert manifest["cut"] == CUT and manifest["dbt_version"].startswith("1.11")
    assert manifest["supersedes"] is None and manifest["previous_delivery"] is None
    assert len(manifest["content_sha256"]) == 64
    assert manifest["code_version"]
    assert manifest["parameters"]["drl_min_patients"] == 20
    assert [f["file_id"] for f in manifest["input_files"]] == ["a" * 64, "b" * 64]
    assert manifest["tables"]["dsa_population_dose"]["datatap"] is not None
    with zipfile.ZipFile(folder / "delivery.xlsx") as book:
        workbook = book.read("xl/workbook.xml").decode()
    for name in ["about", *tables]:
        assert f'name="{name}"' in workbook
    diff = json.loads((folder / "diff.json").read_text())
    assert diff["previous"] is None
    assert all(t["added"] == manifest["tables"][n]["rows"] for n, t in diff["tables"].items())
    assert (folder / "report.html").stat().st_size > 10_000
    threshold = manifest["parameters"]["small_cell_max_patients"]
    assert f"Cells resting on {threshold} or fewer unique patients" in (folder / "report.html").read_text()


def _change_one_median_dose(harness, db: Path) -> dict:
    """Move the median CTDIvol dose of one qualifying facility halfway to the next value: the facility's
    median becomes exactly that new value, nothing else a delivery shows depends on it."""
    con = duckdb.connect(str(db))
    try:
        facility = con.execute(
            "select facility_id, procedure_code from intermediate.int_deliveries__facility_typical_values "
            "where dose_type = 'CTDIVOL' and n_examinations % 2 = 1 and n_patients >= 5 "
            "order by facility_id limit 1"
        ).fetchall()[0]
        doses = con.execute(
            "select dose_id, value from intermediate.int_deliveries__imaging_doses where facility_id = ? "
            "and procedure_code = ? and dose_type = 'CTDIVOL' and has_activity and is_standard_adult "
            "order by value",
            list(facility),
        ).fetchall()
        mid = len(doses) // 2
        new_value = (doses[mid][1] + doses[mid + 1][1]) / 2
        con.execute(
            "update handmade.fct_imaging_dose set value = ? where dose_id = ?", [new_value, doses[mid][0]]
        )
    finally:
        con.close()
    harness.dbt("run", *REBUILD, db=db)
    return {"facility_id": facility[0], "procedure_code": facility[1], "old": doses[mid][1], "new": new_value}


def test_second_delivery_diff_shows_exactly_the_changed_dose(harness, data_dir, tmp_path):
    """A rebuild of the delivery models from the same data (float sums may differ in the last bits,
    bootstrap intervals are recomputed) gives no new version; one changed dose gives a `_v2` that
    supersedes the first, with a diff.json of exactly that change."""
    first = deliver_from(harness, data_dir, "dsa", year=YEAR, cut=CUT)
    resent = tmp_path / "resent.duckdb"
    shutil.copy(harness.db, resent)
    harness.dbt("run", *REBUILD, db=resent)
    shutil.copy(resent, data_dir / "warehouse.duckdb")
    rebuilt = make_delivery_from(harness, data_dir, "dsa", year=YEAR, cut="2026-04-01")
    assert (rebuilt.new, rebuilt.folder) == (False, first)
    assert [p.name for p in (data_dir / "deliveries" / "dsa").iterdir()] == [CUT]

    change = _change_one_median_dose(harness, resent)
    shutil.copy(resent, data_dir / "warehouse.duckdb")
    result = make_delivery_from(harness, data_dir, "dsa", year=YEAR, cut=CUT)
    second = result.folder
    assert result.new and result.supersedes == CUT
    assert second.name == f"{CUT}_v2" and first.is_dir()
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["previous_delivery"] == manifest["supersedes"] == CUT
    diff = json.loads((second / "diff.json").read_text())
    assert diff["previous"] == CUT
    for name, table in diff["tables"].items():
        assert (table["added"], table["removed"]) == (0, 0), name
    assert diff["tables"]["dsa_population_dose"]["changed"] == 0
    assert diff["tables"]["dsa_reporting_completeness"]["changed"] == 0
    facility = diff["tables"]["dsa_facility_dose"]
    assert facility["changed"] == 1
    (row,) = facility["changed_rows"]
    assert row["key"] == {
        "year": YEAR,
        "facility_id": change["facility_id"],
        "procedure_code": change["procedure_code"],
        "dose_type": "CTDIVOL",
    }
    assert row["columns"]["median"]["old"] == pytest.approx(change["old"])
    assert row["columns"]["median"]["new"] == pytest.approx(change["new"])
    assert set(row["columns"]) <= {"median", "exceeds_reference"}
    assert diff["tables"]["dsa_drl"]["changed"] <= 1


def test_rhf_month_delivery_filters_monthly_tables(harness, data_dir):
    folder = deliver_from(harness, data_dir, "rhf", year=YEAR, month=3, cut=CUT)
    imaging = pq.read_table(folder / "rhf_imaging_activity.parquet")
    assert set(imaging.column("month").to_pylist()) == {3}
    activity = pq.read_table(folder / "rhf_rt_activity.parquet")
    assert activity.num_rows > 0 and set(activity.column("year").to_pylist()) == {YEAR}
    assert json.loads((folder / "manifest.json").read_text())["period"] == f"{YEAR}-03"


def _models_meta_grain(manifest: Path) -> dict[str, list[str]]:
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {n["name"]: n["config"]["meta"]["grain"] for n in nodes if "grain" in n["config"].get("meta", {})}


@pytest.mark.parametrize("kind", ["dsa", "rhf"])
def test_every_table_is_keyed_by_its_models_meta_grain(harness, data_dir, kind):
    """The grain in the manifest and behind diff.json is the model's `meta.grain`, a true key of
    the delivered rows, and never the fallback of all columns."""
    folder = deliver_from(harness, data_dir, kind, year=YEAR, cut=CUT)
    tables = json.loads((folder / "manifest.json").read_text())["tables"]
    declared = _models_meta_grain(harness.manifest)
    assert tables and set(tables) <= set(declared)
    for name, table in tables.items():
        data = pq.read_table(folder / f"{name}.parquet")
        assert table["grain"] == declared[name], name
        assert len(table["grain"]) < data.num_columns, name
        keys = {tuple(row[c] for c in table["grain"]) for row in data.to_pylist()}
        assert len(keys) == data.num_rows, f"{name}: {table['grain']} is not a key"
    diff = json.loads((folder / "diff.json").read_text())
    assert {n: t["grain"] for n, t in diff["tables"].items()} == {n: t["grain"] for n, t in tables.items()}
    if kind == "rhf":
        assert tables["rhf_rt_migration"]["grain"] == ["year", "residence_rhf_name", "treatment_rhf_name"]


def test_grain_keys_reads_the_models_own_meta(tmp_path):
    """Not a data test's arguments, not another package's model of the same name."""

    def node(name: str, package: str, grain: list[str] | None, kind: str = "model") -> dict:
        meta = {"grain": grain} if grain else {}
        return {
            "name": name,
            "resource_type": kind,
            "package_name": package,
            "config": {"meta": meta},
            "description": "  Grain: one row per\n a x b.\n",
            "columns": {"a": {"name": "a", "description": "the a."}},
        }

    nodes = {
        "model.proj.t": node("t", "proj", ["a", "b"]),
        "model.other.t": node("t", "other", ["z"]),
        "test.proj.unique_t": {
            **node("unique_t", "proj", None, "test"),
            "test_metadata": {"kwargs": {"columns": ["c"]}},
        },
        "model.proj.u": node("u", "proj", None),
    }
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"metadata": {"project_name": "proj"}, "nodes": nodes}))
    docs = grain_keys(manifest)
    assert set(docs) == {"t", "u"}
    assert docs["t"] == {
        "grain": ["a", "b"],
        "time_series": False,
        "description": "Grain: one row per a x b.",
        "columns": {"a": "the a."},
    }
    assert docs["u"]["grain"] is None and docs["u"]["time_series"] is False
    with pytest.raises(DeliveryError, match="no dbt manifest"):
        grain_keys(tmp_path / "missing.json")


def test_cli_writes_a_delivery(harness, data_dir, monkeypatch, capsys):
    monkeypatch.setattr("orchestration.settings.DBT_MANIFEST", harness.manifest)
    assert cli_main(["deliver", "rhf", "--year", str(YEAR), "--data-dir", str(data_dir)]) == 0
    (folder,) = (data_dir / "deliveries" / "rhf").iterdir()
    assert (folder / "manifest.json").is_file()
    assert capsys.readouterr().out.strip() == str(folder)
    # the same content again: no new folder, the latest one named
    assert cli_main(["deliver", "rhf", "--year", str(YEAR), "--data-dir", str(data_dir)]) == 0
    assert list((data_dir / "deliveries" / "rhf").iterdir()) == [folder]
    assert capsys.readouterr().out.strip() == str(folder)


def test_cli_refuses_bad_arguments_with_a_message(tmp_path, capsys):
    for argv in (["deliver", "rhf", "--year", "2025", "--month", "13"], ["deliver", "dsa", "--year", "x"]):
        with pytest.raises(SystemExit) as exit_:
            cli_main(argv)
        assert exit_.value.code == 2 and "error:" in capsys.readouterr().err
    assert cli_main(["deliver", "dsa", "--year", "2025", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no served warehouse" in err and "Traceback" not in err


def test_bad_requests_fail_clearly_and_leave_nothing(harness, tmp_path, data_dir):
    with pytest.raises(DeliveryError, match="no served warehouse"):
        deliver_from(harness, tmp_path / "empty", "dsa", year=YEAR)
    with pytest.raises(DeliveryError, match="unknown delivery kind"):
        deliver_from(harness, data_dir, "xyz", year=YEAR)
    with pytest.raises(DeliveryError, match="month"):
        deliver_from(harness, data_dir, "rhf", year=YEAR, month=13)
    with pytest.raises(DeliveryError, match="cut"):
        deliver_from(harness, data_dir, "rhf", year=YEAR, cut="yesterday")
    with pytest.raises(DeliveryError, match="no dbt manifest"):
        deliver(
            "rhf",
            year=YEAR,
            warehouse=data_dir / "warehouse.duckdb",
            lake=data_dir / "lake",
            deliveries=data_dir / "deliveries",
            dbt_manifest=tmp_path / "missing.json",
        )
    assert not (tmp_path / "empty" / "deliveries").exists()
    leftovers = list((data_dir / "deliveries").rglob(".tmp-*")) if (data_dir / "deliveries").exists() else []
    assert leftovers == []


def test_year_before_end_of_april_is_provisional(harness, tmp_path):
    early = tmp_path / "early.duckdb"
    shutil.copy(harness.db, early)
    harness.dbt("run", *REBUILD, "--vars", "{cut_date: '2026-03-31'}", db=early)
    data_dir = _serve(early, tmp_path / "data")
    folder = deliver_from(harness, data_dir, "rhf", year=YEAR, cut="2026-03-31")
    assert json.loads((folder / "manifest.json").read_text())["provisional"] is True
    assert set(pq.read_table(folder / "rhf_rt_activity.parquet").column("is_provisional").to_pylist()) == {
        True
    }
    assert "Provisional:" in (folder / "report.html").read_text()
    complete = deliver_from(
        harness, _serve(harness.db, tmp_path / "later"), "rhf", year=YEAR, cut="2026-11-27"
    )
    assert json.loads((complete / "manifest.json").read_text())["provisional"] is False


def test_every_delivery_table_name_is_a_whole_excel_sheet_name():
    # delivery.xlsx names a sheet after its table and Excel cuts sheet names at 31 characters: a
    # longer name would lose its end in the workbook (and two could collide)
    assert DELIVERY_MODELS and all(len(name) <= 31 for name in DELIVERY_MODELS), [
        n for n in DELIVERY_MODELS if len(n) > 31
    ]
