"""The ``qaexport`` command's first steps, before the command-line library loads: the stop signals, the run's own
temporary folder, and, for the ``pdf`` command, its layout process.

Why here and not in :mod:`qaexport.cli`: importing the command line (Typer, Click, the commands' table) is ~0.08 s of
CPU, and in the author's loop (a small bank to a PDF) the longest path of the run is the layout process importing
WeasyPrint (``weasy.warm``); started here, that import runs on the other core beside this process loading the
command line, parsing the command and reading the bank. This module imports nothing heavy; the command decides
whether the process is used (see :func:`start_ahead`).

Like the command line, and only for it, this module reads the environment: the cache folder and the variables that
decide a build (:func:`cache_folder`, :func:`command_line`), to tell before the fork whether the run will find nothing
changed (``qaexport.last_run``). It sets none: the command line does (``TMPDIR``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from . import scratch, stops

#: The help options (the command line's ``help_option_names``): a command line that has one as an option prints help.
_HELP = frozenset({"--help", "-h"})
#: A flag (no value) in :data:`PDF_OPTIONS`.
FLAG = None
#: The ``pdf`` command's options as Click's parser reads them: each spelling, and what its value must be (``FLAG``: it
#: takes none; "text"; "path"; "int"; a tuple: one of these, in any case). tests/test_launch.py checks this table
#: against the command the command line makes, and checks :func:`runs_pdf` against Click's own reading. An option
#: that is not here (one a reader of another distribution adds) makes the command line unknown: no early start
#: (only speed is lost: the command starts its layout process itself, ``start_before_reading``).
PDF_OPTIONS: dict[str, str | tuple[str, ...] | None] = {
    "--output": "text", "-o": "text", "--theme": "text", "--difficulty": "text", "-d": "text", "--topic": "text",
    "-t": "text", "--config": "path", "--no-cache": FLAG, "--all-cards": FLAG, "--no-all-cards": FLAG,
    "--paper": ("a4", "letter"), "--answers": ("inline", "end"), "--title": "text", "--author": "text",
    "--language": "text", "--tagged": FLAG, "--no-tagged": FLAG, "--parts": "int",
}

#: The run begun in this process and not yet ended (:func:`begin`).
_begun: list[tempfile.TemporaryDirectory[str]] = []


def begin(args: list[str]) -> tempfile.TemporaryDirectory[str]:
    """The stop signals handled (the command's rule: :func:`qaexport.stops.in_command`), what killed runs left swept,
    this run's temporary folder made (returned: the
    command removes it; the command line names it to the programs the libraries start, ``TMPDIR``) and the work
    ``args`` will need started ahead; once per run: a run begun already (``python -m qaexport``, then the command
    line's ``main``) is returned as it is."""
    if _begun and Path(_begun[0].name).is_dir():
        return _begun[0]
    stops.in_command()
    with stops.held():  # tempfile finds the folder by writing a file there and removing it: a stop waits for both
        temporary = Path(tempfile.gettempdir())
    scratch.sweep_once(temporary)  # what killed runs left there (a listing: a millisecond)
    with stops.held():  # made and recorded, or a stop between the two leaves it to the next run's sweep
        _begun[:] = [scratch.run_folder()]  # this process's temporary files go there from now on (tempfile.tempdir)
    _pdf_args[:] = [args] if runs_pdf(args) else []
    start_ahead(args)
    return _begun[0]


def start_ahead(args: list[str]) -> None:
    """The PDF's layout process (``weasy.warm``) started as the ``pdf`` command begins, before its options are parsed
    and its sources read, so that its import of WeasyPrint runs beside this process's start-up and reading. The
    command decides whether it is used: sources too big for a book laid out whole stop it before they are read
    (``PdfExporter.start_before_reading``), a bigger book once read (``prepare_alone``); a build with nothing
    changed, a command's help or a failed command end it when the command ends (``warm.stop``, at exit at the
    latest). Not started when the last run of this command line found nothing changed and no file it named has changed
    since (``last_run.nothing_changed_likely``)."""
    if not runs_pdf(args):
        return
    from . import last_run

    if last_run.nothing_changed_likely(cache_folder(), command_line(args)):
        return  # the manifest will most likely say so: no process to start and end (the guess: qaexport.last_run)
    from .weasy import warm

    if "--no-cache" not in args:  # the stylesheet the last run kept there, parsed while the process waits for its job
        warm.set_up_ahead_from(cache_folder)  # called in that process: nothing more loaded here
    warm.start()


#: The arguments of the ``pdf`` run begun in this process (:func:`begin`), for ``qaexport.last_run``.
_pdf_args: list[list[str]] = []


def cache_folder() -> Path:
    """Where build manifests live: beside the render cache (QAEXPORT_CACHE_DIR, else the user's cache folder)."""
    folder = os.environ.get("QAEXPORT_CACHE_DIR", "").strip()
    if folder:
        return Path(folder).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("qaexport", appauthor=False)


def command_line(args: list[str]) -> list[object]:
    """What decides a run besides its files, as ``qaexport.last_run`` keeps it: the arguments, the working folder,
    the interpreter, and the environment variables qaexport reads (the build manifest's key holds the same)."""
    env = sorted([k, v] for k, v in os.environ.items() if k.startswith("QAEXPORT_") or k == "SOURCE_DATE_EPOCH")
    return [list(args), os.getcwd(), sys.executable, env]


def pdf_args() -> list[str] | None:
    """The arguments of this process's ``pdf`` run, when it began here (the ``qaexport`` command; not a command line
    run in-process, as the tests do): the run keeps its stamps under them (``last_run.remember``)."""
    return _pdf_args[0] if _pdf_args else None


def runs_pdf(args: list[str]) -> bool:
    """Whether the command line ``args`` runs the ``pdf`` command: read as Click reads it (``click.parser``), without
    loading Click. The command line's own options (``--version``, ``--help``) never run a command, and any other
    option there is an error, so ``pdf`` comes first or after ``--``. In the command's arguments: ``--`` ends the
    options, ``--name=value`` and ``-ovalue`` carry their value, an option taking a value takes the next argument
    whatever it is (``-o --help`` names a file), short flags may be joined; a help option, an unknown option, a
    missing value, a value for a flag or a value Click refuses (a choice, a whole number, an empty path) is help or
    an error, not a run. Errors the command finds itself (a theme, ``-o``, the config file, a path that cannot be
    read) end the started process when the command ends, as a failed build does."""
    if args[:1] == ["--"]:
        args = args[1:]
    if args[:1] != ["pdf"]:
        return False
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--":
            return all(_accepted("path", source) for source in rest)
        if arg[:1] != "-" or len(arg) == 1:
            if not _accepted("path", arg):
                return False
            continue
        name, equals, value = arg.partition("=")
        if name in PDF_OPTIONS and name[:2] == "--":
            kind = PDF_OPTIONS[name]
            if kind is FLAG:
                if equals:
                    return False  # "does not take a value"
                continue
            given = value if equals else next(rest, None)
            if given is None or not _accepted(kind, given):
                return False
            continue
        if arg[:2] == "--" or arg in _HELP:
            return False  # help, or "no such option"
        for at in range(1, len(arg)):  # short options, joined: -o book.pdf, -obook.pdf
            short = "-" + arg[at]
            if short in _HELP or short not in PDF_OPTIONS:
                return False
            kind = PDF_OPTIONS[short]
            if kind is not FLAG:
                given = arg[at + 1:] or next(rest, None)
                if given is None or not _accepted(kind, given):
                    return False
                break
    return True


def _accepted(kind: str | tuple[str, ...], value: str) -> bool:
    """Whether Click's type for ``kind`` takes ``value`` (``click.Choice`` not case-sensitive, ``click.INT``, a
    path as ``cli.options.nonempty_path`` parses it: any but ``''``)."""
    if isinstance(kind, tuple):
        return value.casefold() in {choice.casefold() for choice in kind}
    if kind == "int":
        try:
            int(value)
        except ValueError:
            return False
    elif kind == "path":
        return value != ""  # the paths' parser (cli.options.nonempty_path) refuses only the empty path
    return True


#: What a run interrupted by Ctrl-C (or SIGTERM, SIGHUP) says, with exit status 130.
INTERRUPTED = stops.MESSAGE


def main() -> None:
    """The ``qaexport`` command (``python -m qaexport`` and the installed script): :func:`begin`, then the command
    line (:func:`qaexport.cli.app.main`). A stopped run ends here with :data:`INTERRUPTED`, said once, and status 130,
    whichever way the interrupt went: raised through the command (which said it already), while the command line was
    still loading (its first ~0.5 s: Typer, the plugins; nothing was written yet), or while Click was building the
    command, where Typer turns it into a silent exit 130, or disguised as another error by code it left
    (:func:`stops.stopped`). Once the command has ended, stop signals are ignored
    (``stops.ending``): the clean-up at exit (the started layout process, the temporary folder) finishes."""
    try:
        try:
            begin(sys.argv[1:])
            from .cli import main as command

            command()
        except SystemExit as exit_:
            if exit_.code == 130 and stops.requested():
                raise KeyboardInterrupt from None  # Typer's silent 130 for an interrupt while it built the command
            raise
        finally:
            stops.ending()  # an interrupt raised as this is called is the one the outer handler takes
    except Exception as exc:
        if not stops.stopped(exc):
            raise
        _end_stopped()
    except KeyboardInterrupt:
        _end_stopped()


def _end_stopped() -> None:
    """A stopped run's end: :data:`INTERRUPTED` said once, the run's leftovers removed, status 130."""
    stops.say()
    _end_the_run()
    raise SystemExit(130) from None


def _end_the_run() -> None:
    """After an interrupt: the layout process started ahead ended, then the run's temporary folder removed whole
    (again: an interrupt that landed in the command line's own removal of it left it half removed). Nothing is
    imported here: the interrupt may have landed in the import system, between a submodule's load and its setting on
    its package, and an import now would fail on that half-done state (a traceback, status 1). Nothing was started
    ahead unless ``forked`` was loaded."""
    forked = sys.modules.get(f"{__package__}.forked")
    if forked is not None:
        forked.end_started_ahead()
    for run in _begun:
        with contextlib.suppress(OSError):
            run.cleanup()
