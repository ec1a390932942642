"""The command line's own usage errors are one line on stderr and exit status 2, through the installed ``qaexport``
command (qaexport.launch, then the command line): an unknown option or command, a value missing, refused or given
to a flag, an unexpected argument, a command's option given before the command. Click printed three or four lines
(the usage, "Try 'qaexport pdf -h' for help.", a blank line, "Error: ..."). The help is unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from qaexport.cli.app import _Command

QAEXPORT = Path(sys.executable).parent / "qaexport"  # the installed command (the project's console script)
COMMANDS = ["list", "validate", "themes", "formats", "convert", "init", "serve", "anki", "cards", "epub", "markdown",
            "pdf", "site", "all", "push"]


def _run(*args: str, cwd: Path) -> tuple[int, list[str], str]:
    result = subprocess.run([str(QAEXPORT), *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "QAEXPORT_CACHE_DIR": str(cwd / "cache")})
    return result.returncode, result.stderr.splitlines(), result.stdout


def _one_line(args: list[str], tmp_path: Path, *wanted: str, help_of: str) -> str:
    code, lines, out = _run(*args, cwd=tmp_path)
    assert code == 2 and len(lines) == 1 and out == "", (args, code, lines, out)
    (line,) = lines
    assert line.startswith("error: ") and line.endswith(f"; see '{help_of} -h'"), line
    for text in wanted:
        assert text in line, (text, line)
    assert list(tmp_path.iterdir()) == [], "nothing is written"
    return line


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_option_of_any_command(command, tmp_path):
    line = _one_line([command, "--bogus"], tmp_path, "no such option --bogus", help_of=f"qaexport {command}")
    assert line == f"error: no such option --bogus; see 'qaexport {command} -h'"


@pytest.mark.parametrize(("args", "wanted"), [
    (["pdf", "--no-cach"], ["no such option --no-cach (did you mean ", "--no-cache"]),
    (["pdf", "-o"], ["option -o needs a value"]),
    (["all", "--output"], ["option --output needs a value"]),
    (["list", "--topic"], ["option --topic needs a value"]),
    (["serve", "--port"], ["option --port needs a value"]),
    (["convert", "--to"], ["option --to needs a value"]),
    (["push", "--deck-name"], ["option --deck-name needs a value"]),
    (["validate", "--config"], ["option --config needs a value"]),
    (["epub", "--no-cache=yes"], ["option --no-cache takes no value"]),
    (["pdf", "--paper", "a5"], ["invalid value for --paper: 'a5' is not one of 'a4', 'letter'"]),
    (["all", "--paper", "a5"], ["invalid value for --paper: 'a5'"]),
    (["epub", "--answers", "later"], ["invalid value for --answers: 'later'"]),
    (["pdf", "--parts", "x"], ["invalid value for --parts: 'x'"]),
    (["serve", "--port", "eighty"], ["invalid value for --port: 'eighty'"]),
    (["cards", "--per-page", "many"], ["invalid value for --per-page: 'many'"]),
    (["themes", "extra"], ["unexpected extra argument", "extra"]),
    (["init", "a", "b"], ["unexpected extra argument", "(b)"]),
    (["pdf", "--bad\nname"], ["no such option --bad\\nname"]),  # what the user typed cannot break the line
])
def test_a_command_s_usage_errors(args, wanted, tmp_path):
    _one_line(args, tmp_path, *wanted, help_of=f"qaexport {args[0]}")


@pytest.mark.parametrize(("args", "line"), [
    (["bogus"], "error: no such command 'bogus'; see 'qaexport -h'"),
    (["lis"], "error: no such command 'lis' (did you mean list?); see 'qaexport -h'"),
    (["--bogus"], "error: no such option --bogus; see 'qaexport -h'"),
    (["--", ], "error: missing command; see 'qaexport -h'"),
])
def test_the_command_line_s_own_usage_errors(args, line, tmp_path):
    assert _one_line(args, tmp_path, help_of="qaexport") == line


@pytest.mark.parametrize(("args", "fixed"), [
    (["--theme", "x", "pdf", "data"], "qaexport pdf --theme x data"),
    (["-o", "deck.apkg", "anki"], "qaexport anki -o deck.apkg"),
    (["--paper=letter", "cards", "a", "b"], "qaexport cards --paper=letter a b"),
    (["--no-cache", "all", "data"], "qaexport all --no-cache data"),
    (["--title", "My book", "epub"], "qaexport epub --title 'My book'"),
])
def test_a_command_s_option_given_before_the_command_says_where_it_goes(args, fixed, tmp_path):
    """`qaexport --theme x pdf data` said "No such option: --theme (Possible options: --help)"."""
    option = args[0].split("=")[0]
    command = fixed.split()[1]
    line = _one_line(args, tmp_path, help_of=f"qaexport {command}")
    assert line == (f"error: {option} is an option of the {command} command; put it after the command: {fixed}; "
                    f"see 'qaexport {command} -h'")


@pytest.mark.parametrize(("args", "line"), [
    (["--theme", "x"], "--theme is an option of the commands all, anki, cards, epub, pdf, push, serve, site, "
                       "not of qaexport itself; put it after the command: qaexport pdf --theme x ...; see "
                       "'qaexport pdf -h'"),
    (["--deck-name=Prep", "data"], "--deck-name is an option of the commands all, anki, push, not of qaexport itself; "
                                   "put it after the command: qaexport anki --deck-name=Prep data ...; see "
                                   "'qaexport anki -h'"),
    (["--port", "80"], "--port is an option of the serve command; put it after the command: qaexport serve --port 80; "
                       "see 'qaexport serve -h'"),
])
def test_a_command_s_option_given_with_no_command_says_where_it_goes(args, line, tmp_path):
    """`qaexport --theme x` said only "no such option --theme (did you mean --help?)"."""
    help_of = line.rsplit("see '", 1)[1].removesuffix(" -h'")
    assert _one_line(args, tmp_path, help_of=help_of) == f"error: {line}"


def test_an_option_of_no_command_named_is_unknown(tmp_path):
    _one_line(["--deck-name", "x", "pdf"], tmp_path, "no such option --deck-name", help_of="qaexport")


@pytest.mark.parametrize(("args", "line"), [
    (["list", ""], "SOURCES: the path is empty (''); name a question file or folder (. is the working folder)"),
    (["validate", "data", ""], "SOURCES: the path is empty (''); name a question file or folder (. is the working "
                               "folder)"),
    (["anki", "--previous", ""], "--previous: the path is empty (''); give a path, or leave the option out"),
    (["all", "--previous="], "--previous: the path is empty (''); give a path, or leave the option out"),
    (["list", "--config", ""], "--config: the path is empty (''); name a qaexport.toml file, or leave --config out"),
    (["init", ""], "DIR: the path is empty (''); name a folder (. is the current folder)"),
])
def test_an_empty_path_is_a_usage_error_not_the_working_folder(args, line, tmp_path):
    """`qaexport list ''` listed the working folder and `anki --previous ''` said "--previous .: is a folder" (Path('')
    is '.'): an empty variable in a script (`--previous "$OLD"`) chose a folder without a word."""
    (tmp_path / "q.md").write_text("---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n## Why? {#why .easy}\n\n"
                                   "Because.\n")
    code, lines, out = _run(*args, cwd=tmp_path)
    assert (code, lines, out) == (2, [f"error: invalid value for {line}; see 'qaexport {args[0]} -h'"], "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.md"], "nothing is written"


def test_a_missing_argument_is_one_line_too():
    """No built-in command requires an argument; a plugin's command made as qaexport makes its commands may."""
    app = typer.Typer(add_completion=False, rich_markup_mode=None)

    @app.command("needs", cls=_Command)
    def needs(folder: str = typer.Argument(..., metavar="FOLDER")) -> None:
        """Needs a folder."""

    result = CliRunner().invoke(app, [], prog_name="qaexport needs")
    assert result.exit_code == 2 and result.output == "error: missing argument FOLDER; see 'qaexport needs --help'\n"


@pytest.mark.parametrize("args", [["-h"], ["pdf", "-h"], ["all", "--help"], []])
def test_the_help_is_unchanged(args, tmp_path):
    """Help on stdout (or, for `qaexport` alone, on stderr with status 2, as Click prints it)."""
    code, err, out = _run(*args, cwd=tmp_path)
    text = out if args else "\n".join(err)
    assert code == (0 if args else 2)
    assert text.startswith("Usage: qaexport") and "Options:" in text and "error:" not in text
