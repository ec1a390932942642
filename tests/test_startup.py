"""Start-up cost: commands parse their options without Pydantic, with exactly Typer's own results."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import typer.main
from typer import core

from qaexport.cli import app

CASES = [
    ["validate", "data", "more"],
    ["pdf", "data", "--answers", "end", "--paper", "letter", "-o", "out.pdf", "-d", "hard", "-t", "fastapi"],
    ["epub", "--answers", "Inline", "--language", "pt-BR", "--title", "T", "--no-cache"],
    ["pdf", "--paper", "A4", "--answers", "END"],
    ["anki", "data", "--flat", "--previous", "old.apkg", "--deck-name", "X", "--theme", "monokai"],
    ["all", "a", "b", "-o", "books/"],
    ["pdf", "--parts", "3"], ["pdf", "--parts", "+2"], ["pdf", "--parts", "007"], ["pdf", "--parts", "-1"],
    ["cards", "--per-page", "10"], ["all", "--parts", "2.0"], ["pdf", "--parts", " 2"], ["pdf", "--parts", "2_0"],
]
BAD = [["pdf", "--answers", "bogus"], ["pdf", "--paper", "A5"], ["pdf", "--parts", "two"], ["pdf", "--parts", ""],
       ["pdf", "--parts", "2.5"]]


def _parse(args: list[str]) -> dict | str:
    # Exporter commands are made once and keep their coercion: made again here, each path builds its own.
    importlib.import_module("qaexport.cli.app")._exporter_command.cache_clear()
    command = typer.main.get_command(app)
    try:
        ctx = command.make_context("qaexport", list(args))
        sub = command.get_command(ctx, args[0])
        return sub.make_context(args[0], list(args[1:]), parent=ctx).params
    except Exception as exc:  # a usage error: compare the message
        return f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"


@pytest.mark.parametrize("args", CASES + BAD, ids=lambda a: " ".join(a))
def test_light_coercion_equals_typers_own(args, monkeypatch):
    light = _parse(args)
    original = getattr(core._TyperParameter.get_runtime_param, "original", None)
    assert original is not None, "the light coercion is not installed"
    monkeypatch.setattr(core._TyperParameter, "get_runtime_param", original)
    assert light == _parse(args)


@pytest.mark.slow
def test_commands_do_not_import_pydantic(sample_path, tmp_path):
    code = ("import atexit, sys; from qaexport.cli import main; sys.argv = sys.argv[1:]\n"
            "atexit.register(lambda: print('pydantic' in sys.modules))\nmain()")  # main() ends the process
    for args in (["validate", str(sample_path)], ["epub", str(sample_path), "-o", str(tmp_path / "b.epub")],
                 ["pdf", str(sample_path), "--parts", "1", "-o", str(tmp_path / "b.pdf")]):  # an int option
        out = subprocess.run([sys.executable, "-c", code, "qaexport", *args], capture_output=True, text=True,
                             check=True).stdout
        assert out.strip().endswith("False"), out


def _modules_after(args: list[str]) -> set[str]:
    """The modules a whole `qaexport ARGS` process imported (a fresh interpreter: nothing preloaded)."""
    code = ("import atexit, sys; from qaexport.cli import main; sys.argv = sys.argv[1:]\n"
            "atexit.register(lambda: print(' '.join(sorted(sys.modules)), file=sys.stderr))\nmain()")
    result = subprocess.run([sys.executable, "-c", code, "qaexport", *args], capture_output=True, text=True,
                            check=True)
    return set(result.stderr.split())


def test_commands_import_only_what_they_use(sample_path, tmp_path):
    """Start-up is mostly imports: `validate` loads no exporter and no renderer, `epub` no other exporter."""
    exporter_modules = {"qaexport.exporters.anki", "qaexport.exporters.cards", "qaexport.exporters.pdf",
                        "qaexport.exporters.markdown_bank", "qaexport.exporters.epub"}
    validate = _modules_after(["validate", str(sample_path)])
    assert not validate & exporter_modules
    assert not {m for m in validate if m.split(".")[0] in {"pygments", "markdown_it", "yaml", "jinja2", "rich"}}
    epub = _modules_after(["epub", str(sample_path), "-o", str(tmp_path / "b.epub"), "--no-cache"])
    assert epub & exporter_modules == {"qaexport.exporters.epub"}
    assert not {m for m in epub if m.split(".")[0] in {"weasyprint", "anki", "yaml", "rich"}}


@pytest.mark.parametrize(("code", "status", "out", "err"), [
    ("3", 3, "buffered, then the atexit handler\n", ""),
    ("None", 0, "buffered, then the atexit handler\n", ""),
    ("'a message'", 1, "buffered, then the atexit handler\n", "a message\n"),
])
def test_leaving_without_teardown_still_does_what_an_exit_shows(code, status, out, err, tmp_path):
    """`leave` skips the interpreter's teardown, not what a normal exit does that anyone can see: the atexit
    handlers run (multiprocessing joins its children there), buffered output is flushed, the status is kept."""
    script = ("import atexit, sys\nfrom qaexport.cli.app import leave\n"
              "atexit.register(lambda: print(', then the atexit handler'))\n"
              f"sys.stdout.write('buffered')\nleave({code})\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (status, out, err)


def test_a_command_through_main_ends_with_its_status(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "qaexport", "validate", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no such file" in bad.stderr
    good = subprocess.run([sys.executable, "-m", "qaexport", "list", "data"], capture_output=True, text=True,
                          timeout=60)
    assert good.returncode == 0 and "FastAPI" in good.stdout
