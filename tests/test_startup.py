"""Start-up: commands import only what they use, through public APIs only, and end with their status."""

from __future__ import annotations

import subprocess
import sys


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
    assert not {m for m in validate if m.split(".")[0] in {"pygments", "markdown_it", "yaml", "jinja2", "rich",
                                                            "pydantic"}}
    epub = _modules_after(["epub", str(sample_path), "-o", str(tmp_path / "b.epub"), "--no-cache"])
    assert epub & exporter_modules == {"qaexport.exporters.epub"}
    assert not {m for m in epub if m.split(".")[0] in {"weasyprint", "anki", "yaml", "rich"}}


def test_help_makes_every_command_without_their_renderers(sample_path):
    """`--help` loads every exporter to list it, but none of what exporting needs: Markdown-it, Pygments,
    PyYAML, Jinja, WeasyPrint, Anki, nor Pydantic (Typer 0.29+ coerces options through it: the pin in
    pyproject.toml keeps an earlier Typer). Together they are most of a command's start-up time."""
    listed = _modules_after(["--help"])
    assert "qaexport.exporters.anki" in listed and "qaexport.exporters.epub" in listed  # it did list them
    heavy = {"pygments", "markdown_it", "yaml", "jinja2", "weasyprint", "anki", "pydantic", "genanki"}
    assert not {m.split(".")[0] for m in listed} & heavy


def test_a_command_through_main_ends_with_its_status(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "qaexport", "validate", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no such file" in bad.stderr
    good = subprocess.run([sys.executable, "-m", "qaexport", "list", "data"], capture_output=True, text=True,
                          timeout=60)
    assert good.returncode == 0 and "FastAPI" in good.stdout
