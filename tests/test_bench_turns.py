"""benchmarks/bench.py's rows measured in turns with their baselines (the author rows with the one-page PDF,
the EPUB with pandoc): no timing here, the runs are counted, not timed."""

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


def test_the_epub_row_is_measured_in_turns_with_pandoc(tmp_path, monkeypatch, capsys):
    """Pandoc measured after ours, minutes apart, ranged 2.25-3.39 s across round 9's idle runs and moved the ratio
    0.23-0.30x with ours unchanged; in turns, the machine's drift falls on both. Counted, not timed."""
    bench = _bench(monkeypatch)
    runs: list[str] = []

    def counted(cmd: list[str], env: dict[str, str] | None) -> object:
        runs.append(Path(cmd[0]).name if cmd[0] == "pandoc" else "ours")
        return bench.Run(1.0, 1.0, 1.0, 1.0)

    monkeypatch.setattr(bench, "_measure_once", counted)
    book = tmp_path / "book"
    bench.synthesise(6, book)  # the bank made for real (pandoc's Markdown too); the runs only counted
    cache = bench.CacheFolder(tmp_path, dict(os.environ))
    bench.epub_case(["qaexport", "epub", str(book)], book, tmp_path, dict(os.environ), 5, cache, 6)
    assert len(runs) == 10, runs
    for round_ in range(5):
        assert sorted(runs[2 * round_:2 * round_ + 2]) == ["ours", "pandoc"], runs
    assert (tmp_path / "book.md").stat().st_size > 0
    assert "pandoc, in turns" in capsys.readouterr().out
