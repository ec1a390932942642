"""The Typer app: inspection commands, one command per exporter, and ``all``."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import tempfile
from functools import cache
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from .. import __version__, plugins
from ..launch import begin
from . import usage

EPILOG = """\b
Examples:
  qaexport list                        # what is in ./data
  qaexport anki                        # dist/<name>.apkg from ./data
  qaexport pdf --answers end --paper letter
  qaexport epub data/ more/ -o books/  # merge two folders into one book
  qaexport all --difficulty hard       # deck, booklet, EPUB and site of the hard ones
  qaexport list --keys                 # one stable key per line (the Anki notes' Key field)
  qaexport push --dry-run              # what a push into the running Anki would change
\b
Exit codes: 0 ok, 1 content or output error, 2 usage error,
3 installation problem (no reader or exporter installed: reinstall qaexport),
4 Anki unreachable or refusing (push), 5 push not complete (some notes; rerun),
130 interrupted (Ctrl-C, SIGTERM, SIGHUP; an output file not finished is left as it was).
"""

#: The fixed commands: name → (module of this package, function, whether it takes the readers' options).
FIXED = {
    "list": ("info", "list_cmd", True),
    "validate": ("info", "validate_cmd", True),
    "themes": ("info", "themes_cmd", False),
    "formats": ("info", "formats_cmd", False),
    "convert": ("convert", "convert_cmd", True),
    "init": ("init", "init_cmd", False),
    "serve": ("serve", "serve_cmd", True),
}

#: The first paragraph of each built-in command's help: all ``qaexport --help`` shows of a command (Click cuts it to
#: one line), so the list is printed without importing any command's module or any exporter (their imports were
#: three quarters of its start-up). tests/test_startup.py checks each against the command's own help.
SUMMARIES = {
    "list": "Show frameworks, topics and subtopics with their slugs and question counts per difficulty.",
    "validate": "Check every file and report every problem (not just the first); exit 1 if any.",
    "themes": "List the installed Pygments styles usable with --theme and --night-theme.",
    "formats": "List the installed input formats (sources) and outputs (exporters), built-in and plugins.",
    "convert": "Convert SOURCES (payloads, Markdown banks, any installed source) into a Markdown bank to edit in git.",
    "init": "Write a commented qaexport.toml and an example Markdown bank (bank/example/...) to start from.",
    "serve": "Serve the study site of SOURCES on 127.0.0.1 and reload open pages when a file is saved; every "
             "question also shows its Anki card (phone and desktop, day and night) and its booklet page. Ctrl-C "
             "stops.",
    "anki": "Write an Anki deck (.apkg): subdecks per topic/subtopic, difficulty tags, safe to re-import.",
    "cards": "Write printable double-sided flashcards: question fronts and answer backs that line up when printed "
             "duplex.",
    "epub": "Write an EPUB 3 book: a chapter per subtopic, nav + NCX, a quiz mode with popup answers.",
    "markdown": "Write a Markdown bank: a folder per framework and topic, a file per subtopic, canonical formatting.",
    "pdf": "Write a printable PDF study booklet: cover, contents, outline, numbered questions.",
    "site": "Write a static study site: a page per subtopic, answers to reveal, search and progress, no server.",
    "push": "Push the bank into a running Anki (AnkiConnect add-on 2055492159): adds new notes, updates changed "
            "ones, moves moved ones, keeps the learner's edits and tags; nothing else in the collection is touched.",
}
#: The built-in exporters ``qaexport all`` runs (their ``in_all``), for its line in ``qaexport --help``.
BUILT_IN_ALL = ("anki", "epub", "pdf", "site")


class _Commands(TyperGroup):
    """The fixed commands, then one per installed exporter, ``all`` and ``push``, each made only when it is named.

    Making a command imports its module, and an exporter's command loads the exporter and everything it imports
    (Anki's writer, the PDF fonts, ...): ``qaexport epub`` loads the EPUB exporter alone, ``validate`` none.
    ``--help`` lists the built-in commands from :data:`SUMMARIES` and loads only the exporters of other
    distributions (plugins), whose help it cannot know otherwise. A broken exporter plugin is reported by the
    commands that load it, and is simply absent from the list.
    """

    listing = False  # set while --help lists the commands: built-in ones are shown from their summaries

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*super().list_commands(ctx), *FIXED, *plugins.registered(plugins.EXPORTERS_GROUP),
                                   "all", "push"]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        made = super().get_command(ctx, cmd_name)
        if made is not None:
            return made
        if self.listing and (summary := _summary(cmd_name)):
            return TyperCommand(cmd_name, help=summary)
        return _fixed_command(cmd_name) if cmd_name in FIXED else _exporter_command(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self.listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0][:1] != "-" and self.get_command(ctx, args[0]) is None:
            known = [name for name in self.list_commands(ctx) if self.get_command(ctx, name) is not None]
            raise usage.no_such_command(ctx, args[0], known)  # a typo: the closest of every command
        return super().resolve_command(ctx, args)

    # Every usage error as one line (qaexport.cli.usage): the command line's own options, then the command's.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help:
            return super().parse_args(ctx, args)  # `qaexport` alone: the help, as it is
        given = list(args)  # Click's parser takes the arguments off the list it is given
        try:
            return super().parse_args(ctx, args)
        except usage.CLICK_USAGE_ERROR as exc:
            raise usage.misplaced(self, ctx, given, exc) or usage.one_line(exc, ctx) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except usage.CLICK_USAGE_ERROR as exc:  # "missing command", or one a command's own code raised
            raise usage.one_line(exc, ctx) from None


class _Command(TyperCommand):
    """A command whose usage errors (an unknown option, a value missing or refused) are one line
    (:mod:`qaexport.cli.usage`)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except usage.CLICK_USAGE_ERROR as exc:
            raise usage.one_line(exc, ctx) from None


def exporter_registry() -> plugins.Registry[Any]:
    """The exporters' registry (importing ``qaexport.exporters`` only when a command needs more than names)."""
    from .. import exporters

    return exporters.registry


def _built_in(name: str) -> bool:
    """Whether ``name`` is one exporter of qaexport's own (one entry point, into a ``qaexport.`` module)."""
    found = plugins.registered(plugins.EXPORTERS_GROUP).get(name, [])
    return len(found) == 1 and found[0].module.startswith("qaexport.") and name in SUMMARIES


def _summary(name: str) -> str:
    """The help ``--help`` shows for a built-in command without making it ("" when it must be made)."""
    if name in FIXED or name == "push":
        return SUMMARIES[name]
    if name == "all":
        names = list(plugins.registered(plugins.EXPORTERS_GROUP))
        if not all(_built_in(n) for n in names):
            return ""  # a plugin may join `all`: its line comes from the loaded exporters
        in_all = [n for n in names if n in BUILT_IN_ALL]
        return f"Write every format ({', '.join(in_all)}) in one run, rendering once."
    return SUMMARIES[name] if _built_in(name) else ""


app = typer.Typer(
    name="qaexport",
    cls=_Commands,
    help="Turn question banks (Nuxt page payloads, Markdown banks, Anki packages, ...) into an Anki deck, "
         "a PDF booklet, an EPUB and more.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

def _version(value: bool) -> None:
    if value:
        typer.echo(f"qaexport {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", help="Show the version and exit.", is_eager=True,
                                 callback=_version),
) -> None:
    """Turn question banks into an Anki deck, a PDF booklet, an EPUB and more."""


def _single(name: str, function: Any, **settings: Any) -> Any:
    """The click command of ``function``, made like any Typer command."""
    single = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False, rich_markup_mode=None)
    single.command(name, cls=_Command, **settings)(function)
    return typer.main.get_command(single)


@cache
def _fixed_command(name: str) -> Any:
    """One fixed command, its module imported now."""
    module_name, function_name, with_readers = FIXED[name]
    function = getattr(importlib.import_module(f"{__package__}.{module_name}"), function_name)
    if with_readers:
        from .common import reader_params, with_params

        function = with_params(function, reader_params())
    return _single(name, function)


@cache
def _exporter_command(name: str) -> Any:
    """The click command of one exporter (or ``all``, or ``push``), made from its Options like any Typer command."""
    from . import export

    if name == "push":
        from . import push

        command = push.command()
    elif name == "all":
        in_all = [cls for cls in exporter_registry().load().values() if cls.in_all]
        if not in_all:
            return None
        command = export.all_command(in_all)
    else:
        cls = exporter_registry().find(name)
        if cls is None:
            return None
        command = export.make_command(cls)
    return _single(name, command, help=command.__doc__, epilog=EPILOG)


def main() -> None:
    """The ``qaexport`` command. It ends as Click ends every command, with ``SystemExit`` and the command's status
    (the interpreter's own exit: atexit handlers, flushes, teardown).

    Before that exit every object is frozen (``gc.freeze``): the interpreter's teardown still runs every atexit
    handler, flushes the streams and frees each module's objects, but its garbage collections no longer walk the
    whole heap of a finished build (an EPUB of 560 questions: 52-75 ms of CPU after the last atexit handler, 11-13
    with the freeze; a tenth of the run). What that skips is only the collection of reference cycles still alive at
    exit, whose finalizers Python never promises to run then; every file, connection and child of a command is
    closed, written or joined before it returns."""
    run = own_temporary_folder()
    _report_plugin_faults()  # a broken plugin is named once, and every other command still works
    try:
        app(prog_name="qaexport")
    finally:  # plugins load when a command needs them, even for its --help
        _report_plugin_faults()
        run.cleanup()
        gc.freeze()


def _report_plugin_faults() -> None:
    if plugins.pending_warnings():  # the console (rich) is loaded only when there is something to say
        from .common import report_plugin_faults

        report_plugin_faults()


def own_temporary_folder() -> tempfile.TemporaryDirectory[str]:
    """Everything temporary of this run in one folder named for it (``launch.begin``: made there, or found when the
    command started through ``qaexport.launch``), the libraries' files and those of the programs they start
    (TMPDIR) too, so that a later run sweeps what a killed one left (``scratch.run_folder``)."""
    run = begin(sys.argv[1:])
    os.environ["TMPDIR"] = run.name
    return run
