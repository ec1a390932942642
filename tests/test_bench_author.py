"""benchmarks/bench.py's author case: each row measured in turns with its one-page baseline (no timing here: the
runs are counted, not timed)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_under_test", ROOT / "benchmarks" / "bench.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench


def test_each_author_row_is_measured_in_turns_with_the_one_page_baseline(tmp_path, monkeypatch, capsys):
    """A baseline measured once before the rows' runs came from other minutes than the rows it divided (round 9's
    run 2: the machine slowed after it, the edited row read 1.77x); in turns, a drift falls on both."""
    bench = _bench(monkeypatch)
    runs: list[str] = []

    def counted(cmd: list[str], env: dict[str, str] | None) -> object:
        runs.append("onepage" if "--baseline" in cmd else cmd[cmd.index("pdf") if "pdf" in cmd else 0])
        return bench.Run(1.0, 1.0, 1.0, 1.0)

    monkeypatch.setattr(bench, "_measure_once", counted)
    env = {**os.environ, "QAEXPORT_FONT_DIR": str(tmp_path / "font-store")}
    bench.author_cases(4, tmp_path, env, 5)  # the bank synthesised and converted for real; the runs only counted

    rows = [runs[0:10], runs[10:20], runs[21:31]]  # 1st, cold, (the cache filled: runs[20]) edited
    assert len(runs) == 31 and runs[20] == "pdf"
    for row in rows:
        for round_ in range(5):  # every round: one baseline run and one of the row, in either order
            assert sorted(row[2 * round_:2 * round_ + 2]) == ["onepage", "pdf"], runs
    printed = capsys.readouterr().out
    assert printed.count("one-page WeasyPrint, in turns") == 3, printed
