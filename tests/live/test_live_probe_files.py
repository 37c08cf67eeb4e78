import json
from datetime import date

import pytest

from blastpay.live.errors import LiveProbeError
from blastpay.live.probe_files import new_probe_path, newest_probe_file, read_probe, write_probe


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "2026-11-26-probe.json"
    write_probe(path, {"format": "blastpay-live-probe/1", "n": 1})
    with pytest.raises(TypeError):
        write_probe(path, {"format": "blastpay-live-probe/1", "n": object()})
    assert json.loads(path.read_text())["n"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["2026-11-26-probe.json"]


def test_newest_record_is_by_date_then_run_number(tmp_path):
    for name in ("2026-11-26-probe.json", "2026-11-26-probe-2.json", "2026-10-01-probe-9.json", "notes.json"):
        (tmp_path / name).write_text("{}")
    assert newest_probe_file(tmp_path).name == "2026-11-26-probe-2.json"
    assert new_probe_path(tmp_path, date(2026, 11, 26)).name == "2026-11-26-probe-3.json"


def test_a_file_that_is_not_a_probe_record_is_refused_in_one_line(tmp_path):
    path = tmp_path / "2026-11-26-probe.json"
    path.write_text('{"steps": []}')
    with pytest.raises(LiveProbeError, match="is not a probe record"):
        read_probe(path)
