"""A reader holding the served warehouse open does not break a rebuild, and sees the new data once
it reopens the file."""

import contextlib
import io
import shutil
import subprocess
import sys

import pytest

from orchestration.settings import Paths
from tests.orchestration.conftest import SCALE

pytestmark = pytest.mark.slow

READER = """
import sys, duckdb
path = sys.argv[1]
count = "select count(*) from marts.fct_imaging_examination"
con = duckdb.connect(path, read_only=True)
print(con.execute(count).fetchall()[0][0], flush=True)
sys.stdin.readline()  # hold the file open until the rebuild is done
print(con.execute(count).fetchall()[0][0], flush=True)
con.close()
con = duckdb.connect(path, read_only=True)
print(con.execute(count).fetchall()[0][0], flush=True)
"""


def test_a_reader_does_not_block_a_rebuild_and_sees_new_data_after_reopening(pipeline, tmp_path):
    from orchestration.run import run_pipeline
    from synth import generate

    assert pipeline.exit_code == 0
    paths = Paths.from_env(tmp_path / "data")
    shutil.copytree(pipeline.paths.data_dir, paths.data_dir)
    # Another year from another seed: new periods, so no file replaces one already loaded.
    generate(tmp_path / "more", year=2024, scale=SCALE, seed=8, workers=1, progress=False)
    shutil.copytree(tmp_path / "more", paths.inbox / "more", ignore=shutil.ignore_patterns("_truth"))

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(paths.served_warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None
        before = int(reader.stdout.readline())
        with contextlib.redirect_stdout(io.StringIO()) as output:
            code = run_pipeline(data_dir=paths.data_dir)
        assert code == 0, output.getvalue()[-4000:]
        out, _ = reader.communicate("go\n", timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    still_open, reopened = (int(x) for x in out.split())
    assert still_open == before  # the open file is the old, complete warehouse
    assert reopened > before
