"""The inbox sensor: a new file asks for exactly one ingest run; the same file again asks for none."""

import shutil

import dagster as dg
import pytest

from orchestration.resources import DataDir


def _evaluate(defs, data_dir, cursor):
    sensor = defs.resolve_sensor_def("inbox_sensor")
    context = dg.build_sensor_context(cursor=cursor, resources={"data": DataDir(data_dir=str(data_dir))})
    result = sensor.evaluate_tick(context)
    return result.run_requests or [], result.cursor


@pytest.fixture
def xml_files(generated_inbox):
    files = sorted(p for p in generated_inbox.rglob("*.xml") if "_truth" not in p.parts)
    assert len(files) >= 2
    return files


def test_a_new_file_triggers_one_run_and_the_same_file_again_none(defs, tmp_path, xml_files):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    requests, cursor = _evaluate(defs, tmp_path, None)
    assert requests == []

    shutil.copy(xml_files[0], inbox / "a.xml")
    requests, cursor = _evaluate(defs, tmp_path, cursor)
    assert len(requests) == 1
    assert defs.resolve_sensor_def("inbox_sensor").job_name == "ingest_job"
    first_key = requests[0].run_key

    requests, cursor = _evaluate(defs, tmp_path, cursor)  # nothing changed
    assert requests == []
    shutil.copy(xml_files[0], inbox / "a-again.xml")  # the same bytes under another name
    requests, cursor = _evaluate(defs, tmp_path, cursor)
    assert requests == []

    shutil.copy(xml_files[1], inbox / "b.xml")  # a different file: one more run, another key
    requests, cursor = _evaluate(defs, tmp_path, cursor)
    assert len(requests) == 1
    assert requests[0].run_key != first_key


def test_the_run_key_depends_only_on_the_files(defs, tmp_path, xml_files):
    keys = []
    for name in ("one", "two"):
        data_dir = tmp_path / name
        (data_dir / "inbox" / "sub").mkdir(parents=True)
        shutil.copy(xml_files[0], data_dir / "inbox" / "sub" / f"{name}.xml")
        (requests, _) = _evaluate(defs, data_dir, None)
        keys.append(requests[0].run_key)
    assert keys[0] == keys[1]  # same content, other names and folders: Dagster deduplicates the run
