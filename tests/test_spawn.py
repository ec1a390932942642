"""Every multi-process path works where fork does not exist (Windows; spawn only): children are spawned and their
work pickled to them, and the outputs are the same bytes as with fork.

``tests/no_fork/sitecustomize.py`` makes fork unavailable in a whole run, children included: ``multiprocessing``
offers no ``fork`` start method and ``os.fork`` is gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qaexport import forked
from tests.test_pdf_parts import _synthesise

ROOT = Path(__file__).resolve().parent.parent
NO_FORK = Path(__file__).resolve().parent / "no_fork"


def _run(args: list[str], no_fork: bool, tmp: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "QAEXPORT_STATE_DIR": str(tmp / "state"),
           "PYTHONPATH": os.pathsep.join([*([str(NO_FORK)] if no_fork else []), str(ROOT)])}
    # --no-cache: the second build must be built (a build manifest would copy the first's output to it)
    result = subprocess.run([sys.executable, "-m", "qaexport", *args, "--no-cache"], env=env, capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_harness_takes_fork_away():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NO_FORK), str(ROOT)])}
    code = ("import multiprocessing, os; from qaexport.forked import can_fork, process_context\n"
            "print(hasattr(os, 'fork'), can_fork(), process_context().get_start_method())")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False", "spawn"], result.stderr


@pytest.mark.slow  # four whole exports of the sample and two spawned process trees: ~30 s of CPU
def test_all_and_cards_without_fork_give_the_same_bytes(tmp_path):
    for no_fork in (False, True):
        out = tmp_path / ("spawned" if no_fork else "forked")
        _run(["all", str(ROOT / "data"), "-o", f"{out}/"], no_fork, tmp_path / out.name)
        _run(["cards", str(ROOT / "data"), "-o", f"{out}/"], no_fork, tmp_path / out.name)
    forked_files, spawned_files = _files(tmp_path / "forked"), _files(tmp_path / "spawned")
    assert sorted(spawned_files) == ["fastapi-deployment.apkg", "fastapi-deployment.cards.pdf",
                                     "fastapi-deployment.epub", "fastapi-deployment.pdf"]
    for name, data in forked_files.items():
        assert spawned_files[name] == data, name


@pytest.mark.slow  # two 80-question booklets laid out in parts: ~17 s of CPU
def test_a_booklet_in_parts_without_fork_gives_the_same_bytes(tmp_path):
    """Three parts (chapters of 34, 34 and 12 questions) laid out in spawned children, a probe and a front, merged.
    (Where the biggest part is far bigger than the others, a forked child draws its last third from the pages it
    gets by the fork; without fork that part is drawn in one process: the same pages, other bytes.)"""
    bank = _synthesise(80, tmp_path / "bank")
    for no_fork in (False, True):
        out = tmp_path / ("spawned.pdf" if no_fork else "forked.pdf")
        _run(["pdf", str(bank), "--parts", "3", "-o", str(out)], no_fork, tmp_path)
    assert (tmp_path / "spawned.pdf").read_bytes() == (tmp_path / "forked.pdf").read_bytes()


def test_rendering_in_spawned_children_gives_the_texts_of_one_process(monkeypatch, tmp_path):
    from qaexport import render, sources

    library = sources.load([_synthesise(220, tmp_path / "bank")])
    highlighter = render.Highlighter()
    schemes = [render.Scheme.COMPACT, render.Scheme.PORTABLE, render.Scheme.PLAIN]
    alone = render.render_library(library, highlighter, schemes, workers=1)
    started: list[str] = []
    start = forked.Children.start

    def spy(self, work):
        started.append(self._ctx.get_start_method())
        return start(self, work)

    monkeypatch.setattr(forked, "can_fork", lambda: False)
    monkeypatch.setattr(forked.Children, "start", spy)
    assert render.render_library(library, highlighter, schemes, workers=2) == alone
    assert started == ["spawn"]


@pytest.mark.parametrize("affinity", [{0}, {0, 1}, {3, 5, 7}])
def test_cores_are_the_ones_this_process_may_run_on(affinity, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: affinity, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert forked.cores() == len(affinity)
    monkeypatch.delattr(os, "sched_getaffinity")  # a system without affinity masks (macOS, Windows)
    assert forked.cores() == 64
