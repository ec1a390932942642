"""The command's first steps (qaexport/launch.py): the `pdf` command starts its layout process before the command
line loads, and a run that does not use it ends it."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

from qaexport import launch
from qaexport.weasy import warm
from tests.cli_run import qaexport

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FIXED = {"SOURCE_DATE_EPOCH": "1700000000"}


def test_only_the_pdf_command_starts_its_layout_process_ahead():
    for args in (["pdf", "--help"], ["pdf", "data", "-h"], ["epub", "data"], ["all", "data"], []):
        launch.start_ahead(args)
        assert warm.started() is None, args
    launch.start_ahead(["pdf", "data", "-o", "book.pdf"])
    assert warm.started() is not None
    warm.stop()
    assert multiprocessing.active_children() == []


def test_the_pdf_command_lays_out_in_the_process_started_before_the_command_line_loaded(tmp_path):
    """Through `python -m qaexport`: the process is started while Typer is not yet imported, lays the book out,
    and the book is the same bytes as one laid out in a child forked at the layout (in this process)."""
    code = ("import sys\nfrom qaexport.weasy import warm\nstart, layout = warm.start, warm._Worker.layout\n"
            "def started():\n    if warm.started() is None:\n"
            "        print('started, typer loaded:', 'typer' in sys.modules, file=sys.stderr)\n"
            "    start()\n"
            "def used(self, *args):\n    print('used', file=sys.stderr)\n    return layout(self, *args)\n"
            "warm.start, warm._Worker.layout = started, used\n"
            "sys.argv = ['qaexport', *sys.argv[1:]]\nfrom qaexport.__main__ import main\nmain()")
    result = subprocess.run([sys.executable, "-c", code, "pdf", str(DATA), "-o", str(tmp_path / "ahead.pdf"),
                             "--no-cache"], capture_output=True, text=True, env={**os.environ, **FIXED}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[:2] == ["started, typer loaded: False", "used"], result.stderr
    original = warm.start
    try:
        warm.start = lambda: None  # a child forked at the layout
        qaexport("pdf", str(DATA), "-o", str(tmp_path / "forked.pdf"), "--no-cache", env=FIXED)
    finally:
        warm.start = original
    assert (tmp_path / "ahead.pdf").read_bytes() == (tmp_path / "forked.pdf").read_bytes()


def test_a_build_with_nothing_changed_ends_the_started_process_at_once(tmp_path):
    env = {**FIXED, "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}
    qaexport("pdf", str(DATA), "-o", str(tmp_path / "book.pdf"), env=env)
    warm.start()  # as `qaexport pdf` does as it begins
    qaexport("pdf", str(DATA), "-o", str(tmp_path / "book.pdf"), env=env)  # nothing changed: nothing laid out
    assert warm.started() is None and multiprocessing.active_children() == []
