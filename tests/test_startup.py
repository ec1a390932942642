"""Start-up: commands import only what they use, through public APIs only, and end with their status."""

from __future__ import annotations

import importlib
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


#: What `qaexport --help` must not import: the commands' modules, every exporter, and what they need — the push's
#: HTTP and TLS (AnkiConnect), the render cache's and the deck reader's SQLite, the forked workers' multiprocessing,
#: and the renderers: Markdown-it, Pygments, PyYAML, Jinja, WeasyPrint, Anki, Pydantic (Typer 0.29+ coerces options
#: through it: the pin in pyproject.toml keeps an earlier Typer). Together they were most of its start-up.
NOT_AT_HELP = {"qaexport.cli.push", "qaexport.cli.export", "qaexport.cli.common", "qaexport.cli.info",
               "qaexport.cli.convert", "qaexport.cli.init", "qaexport.cli.serve", "qaexport.exporters",
               "qaexport.exporters.anki", "qaexport.exporters.anki.push", "qaexport.exporters.anki.connect",
               "qaexport.exporters.cards", "qaexport.exporters.epub", "qaexport.exporters.markdown_bank",
               "qaexport.exporters.pdf", "qaexport.exporters.site", "qaexport.sources", "qaexport.forked",
               "ssl", "http.client", "sqlite3", "multiprocessing", "pygments", "markdown_it", "yaml", "jinja2",
               "weasyprint", "anki", "pydantic", "genanki", "rich"}


def _not_allowed_at_help(modules: set[str]) -> set[str]:
    return {m for m in modules if m in NOT_AT_HELP or m.split(".")[0] in NOT_AT_HELP
            or m.startswith("qaexport.exporters.")}


def test_help_lists_every_command_without_importing_them():
    """`--help` shows every command from the built-ins' summaries: no command module, no exporter, nothing of
    what they import is loaded for it."""
    code = ("import atexit, sys; from qaexport.cli import main; sys.argv = ['qaexport', '--help']\n"
            "atexit.register(lambda: print(' '.join(sorted(sys.modules)), file=sys.stderr))\nmain()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].split("Examples:")[0].splitlines()
              if line.startswith("  ") and line.split()]
    assert listed == ["list", "validate", "themes", "formats", "convert", "init", "serve", "anki", "cards", "epub",
                      "markdown", "pdf", "site", "all", "push"]
    assert _not_allowed_at_help(set(result.stderr.split())) == set()
    # The check sees each kind of module it names (an eager import put back would be caught).
    for module in ("qaexport.cli.push", "qaexport.exporters.pdf", "ssl", "sqlite3.dbapi2", "multiprocessing.context",
                   "weasyprint.text"):
        assert _not_allowed_at_help({module}) == {module}


def test_help_shows_what_the_commands_themselves_say(monkeypatch):
    """The list `--help` prints from the summaries is the one made from every command: each summary is its
    command's own first paragraph (a docstring edited without its summary fails here)."""
    from typer.testing import CliRunner

    from qaexport.cli import app

    app_module = importlib.import_module("qaexport.cli.app")
    listed = CliRunner().invoke(app, ["--help"], terminal_width=100)
    commands = {name: app_module._fixed_command(name) if name in app_module.FIXED
                else app_module._exporter_command(name) for name in [*app_module.SUMMARIES, "all"]}
    for name, command in commands.items():
        assert app_module._summary(name) == " ".join(command.help.split("\n\n")[0].split()), name
    monkeypatch.setattr(app_module, "_summary", lambda _name: "")  # every command made and shown as itself
    made = CliRunner().invoke(app, ["--help"], terminal_width=100)
    assert listed.exit_code == made.exit_code == 0
    assert listed.output == made.output and "Write every format (anki, epub, pdf, site)" in made.output


def test_a_command_through_main_ends_with_its_status(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "qaexport", "validate", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no such file" in bad.stderr
    good = subprocess.run([sys.executable, "-m", "qaexport", "list", "data"], capture_output=True, text=True,
                          timeout=60)
    assert good.returncode == 0 and "FastAPI" in good.stdout


def test_a_command_ends_with_its_objects_frozen(sample_path, tmp_path):
    """When a command returns, every object is frozen (``cli.app.main``): the interpreter's teardown still runs
    the atexit handlers (this one too) and frees the modules, but no garbage collection walks the build's heap
    (an EPUB of 560 questions spent a tenth of its run there)."""
    code = ("import atexit, gc, sys; from qaexport.cli import main; sys.argv = sys.argv[1:]\n"
            "atexit.register(lambda: print('frozen', gc.get_freeze_count(), file=sys.stderr))\nmain()")
    result = subprocess.run([sys.executable, "-c", code, "qaexport", "epub", str(sample_path), "-o",
                             str(tmp_path / "b.epub"), "--no-cache"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    frozen = int(result.stderr.split("frozen ")[1].split()[0])
    assert frozen > 10_000  # the build's objects (the sample's EPUB: ~42,000)
    assert (tmp_path / "b.epub").stat().st_size > 0
