"""The command's first steps (qaexport/launch.py): the `pdf` command starts its layout process before the command
line loads, and a run that does not use it ends it."""

from __future__ import annotations

import contextlib
import enum
import io
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

from qaexport import launch
from qaexport.cli.app import _exporter_command, app
from qaexport.weasy import warm
from tests.cli_run import qaexport

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FIXED = {"SOURCE_DATE_EPOCH": "1700000000"}


def test_only_the_pdf_command_starts_its_layout_process_ahead():
    for args in (["pdf", "--help"], ["pdf", "data", "-h"], ["epub", "data"], ["all", "data"], []):
        launch.start_ahead(args)
        assert warm.started() is None, args
    for args in (["pdf", "data", "-o", "book.pdf"], ["--", "pdf", "data"], ["pdf", "-o", "--help"]):
        launch.start_ahead(args)
        assert warm.started() is not None, args
        warm.stop()
        assert multiprocessing.active_children() == []


def _kind(option: Any) -> str | tuple[str, ...] | None:
    """What :data:`launch.PDF_OPTIONS` says of ``option`` (a parameter of Typer's Click)."""
    kind = option.type
    if getattr(option, "is_flag", False):
        return launch.FLAG
    if hasattr(kind, "choices"):
        assert not kind.case_sensitive
        return tuple(str(c.value) if isinstance(c, enum.Enum) else str(c) for c in kind.choices)
    if kind.name == "parse":  # a path, parsed by cli.options.nonempty_path (Typer's FuncParamType)
        assert kind.func("x") == Path("x"), option
        with pytest.raises(typer.BadParameter):
            kind.func("")
        return "path"
    return {"int": "int", "str": "text"}[kind.name]


def test_the_pdf_options_launch_knows_are_the_pdf_command_s():
    table = {}
    for param in _exporter_command("pdf").params:
        assert param.envvar is None and param.callback is None and not param.is_eager, param
        if param.param_type_name == "argument":
            assert param.nargs == -1 and _kind(param) == "path"
            continue
        assert param.nargs == 1 and not param.count and (not param.multiple or param.name in {"difficulty", "topic"})
        for name in (*param.opts, *param.secondary_opts):
            table[name] = _kind(param)
    assert table == launch.PDF_OPTIONS
    assert set(app.info.context_settings["help_option_names"]) == launch._HELP


def _click_runs_pdf(args: list[str]) -> bool:
    """Whether Typer's Click reads ``args`` as a run of the ``pdf`` command (parsed and checked, not run)."""
    group = typer.main.get_command(app)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ctx = group.make_context("qaexport", list(args))
            if not ctx._protected_args:
                return False
            name, command, rest = group.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
            if name != "pdf":
                return False
            command.make_context(name, rest, parent=ctx)
    except Exception as exc:  # a usage error, or help or the version printed (Exit)
        assert type(exc).__module__.startswith(("typer", "qaexport.cli.usage")), repr(exc)
        return False
    return True


@pytest.mark.parametrize("args", [
    [], ["pdf"], ["pdf", "data"], ["--", "pdf", "data"], ["--"], ["--help", "pdf"], ["-h", "pdf"],
    ["--version", "pdf"], ["--bogus", "pdf"], ["epub", "data"], ["--", "epub"],
    ["pdf", "-h"], ["pdf", "--help"], ["pdf", "data", "-h"], ["pdf", "--help=x"], ["pdf", "-hd"], ["pdf", "-dh"],
    ["pdf", "--", "-h"], ["pdf", "--", "--", "x"], ["pdf", "-o", "a.pdf", "--", "--help"], ["pdf", "-"],
    ["pdf", "-o", "--help"], ["pdf", "-o--help"], ["pdf", "-obook.pdf"], ["pdf", "-o=book.pdf"], ["pdf", "-o"],
    ["pdf", "--output=x.pdf"], ["pdf", "--output"], ["pdf", "--output", "x", "--title", "--help"],
    ["pdf", "--bogus"], ["pdf", "-x"], ["pdf", "--paper", "A4"], ["pdf", "--paper", "a5"], ["pdf", "--paper=letter"],
    ["pdf", "--answers", "END"], ["pdf", "--parts", "3"], ["pdf", "--parts", "x"], ["pdf", "--parts", " +3 "],
    ["pdf", "--parts=1_0"], ["pdf", "--tagged"], ["pdf", "--tagged=yes"], ["pdf", "--no-tagged", "--no-cache"],
    ["pdf", "--no-cache=1"], ["pdf", "-d", "hard", "-t", "x"], ["pdf", "-dhard", "data"], ["pdf", "-t"],
    ["pdf", "--config", "missing.toml"], ["pdf", "--config"], ["pdf", "--config", ""], ["pdf", ""],
    ["pdf", "--", ""], ["pdf", "--theme"], ["pdf", "--all-cards", "data"],
])
def test_launch_reads_a_command_line_as_click_does(args):
    """The early start is decided for exactly the command lines that run `pdf` (Click's own reading of them)."""
    assert launch.runs_pdf(args) == _click_runs_pdf(args), args


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


def test_a_run_that_will_find_nothing_changed_does_not_start_the_layout_process(tmp_path):
    """Through `python -m qaexport`: the second run of a command line with nothing changed since the first does not
    fork the layout process (qaexport.last_run's guess), and says what it said before; an edited source starts it
    again as the command begins."""
    import shutil

    code = ("import sys\nfrom qaexport.weasy import warm\nstart = warm.start\n"
            "def started():\n    print('started, typer loaded:', 'typer' in sys.modules, file=sys.stderr)\n"
            "    start()\n"
            "warm.start = started\n"
            "sys.argv = ['qaexport', *sys.argv[1:]]\nfrom qaexport.__main__ import main\nmain()")
    bank = tmp_path / "bank"
    shutil.copytree(DATA, bank)
    env = {**os.environ, **FIXED, "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}

    def run() -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-c", code, "pdf", "bank", "-o", "book.pdf"], cwd=tmp_path,
                                capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        return result

    first = run()
    assert first.stderr.splitlines()[:1] == ["started, typer loaded: False"], first.stderr
    book = (tmp_path / "book.pdf").read_bytes()
    again = run()
    assert "started" not in again.stderr, again.stderr
    assert again.stdout.splitlines() == [f"nothing changed: {Path('book.pdf')} is up to date (same inputs, options "
                                         "and versions); nothing rendered or written"], again.stdout
    assert (tmp_path / "book.pdf").read_bytes() == book
    source = next(f for f in sorted(bank.rglob("*")) if f.is_file())
    source.write_bytes(source.read_bytes() + b" ")
    edited = run()
    assert edited.stderr.splitlines()[:1] == ["started, typer loaded: False"], edited.stderr
    assert "wrote" in edited.stdout


def test_a_damaged_or_foreign_last_run_file_is_only_a_wrong_guess(tmp_path):
    from qaexport import last_run

    command = launch.command_line(["pdf", "data"])
    assert not last_run.nothing_changed_likely(tmp_path, command)  # none yet
    source = tmp_path / "source.md"
    source.write_text("x")
    last_run.remember(tmp_path, command, [str(source)], {}, [str(tmp_path / "book.pdf")])
    assert last_run.nothing_changed_likely(tmp_path, command)
    assert not last_run.nothing_changed_likely(tmp_path, launch.command_line(["pdf", "data", "--paper", "letter"]))
    source.write_text("y")
    assert not last_run.nothing_changed_likely(tmp_path, command)
    kept = tmp_path / last_run.NAME
    for damaged in (b"", b"{", b"[]", b'{"command": 1, "stamps": [[]]}', b"[" * 100_000,
                    b" " * (last_run.MAX_BYTES + 1)):
        kept.write_bytes(damaged)
        assert not last_run.nothing_changed_likely(tmp_path, command)
    kept.unlink()
    os.mkfifo(kept)
    assert not last_run.nothing_changed_likely(tmp_path, command)  # refused, not waited on
