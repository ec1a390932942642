"""The Typer app: inspection commands, one command per exporter, and ``all``."""

from __future__ import annotations

import signal
from functools import cache
from types import FrameType
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

from .. import __version__, exporters
from . import convert, export, info, init, serve
from .common import reader_params, report_plugin_faults, with_params

EPILOG = """\b
Examples:
  qaexport list                        # what is in ./data
  qaexport anki                        # dist/<name>.apkg from ./data
  qaexport pdf --answers end --paper letter
  qaexport epub data/ more/ -o books/  # merge two folders into one book
  qaexport all --difficulty hard       # deck, booklet and EPUB of the hard ones
  qaexport list --keys                 # one stable key per line (the Anki notes' Key field)
  qaexport push --dry-run              # what a push into the running Anki would change
\b
Exit codes: 0 ok, 1 content or output error, 2 usage error,
4 Anki unreachable or refusing (push), 5 push not complete (some notes; rerun),
130 interrupted (Ctrl-C, SIGTERM, SIGHUP; an output file not finished is left as it was).
"""


class _Commands(TyperGroup):
    """The fixed commands, then one per installed exporter, ``all`` and ``push``, each made only when it is named.

    Loading an exporter imports its module and everything that imports (Anki's writer, the PDF fonts, ...),
    the larger part of a command's start-up: ``qaexport epub`` loads the EPUB exporter alone, ``validate``
    none; ``--help`` and ``all`` load them all. A broken exporter plugin is reported by the commands that
    load it, and is simply absent from the list.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*super().list_commands(ctx), *exporters.registry.names(), "all", "push"]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return super().get_command(ctx, cmd_name) or _exporter_command(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and self.get_command(ctx, args[0]) is None:
            # A typo: Typer's "did you mean" looks among the made commands, so make them all.
            for name in self.list_commands(ctx):
                command = self.get_command(ctx, name)
                if command is not None:
                    self.commands.setdefault(name, command)
        return super().resolve_command(ctx, args)


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


app.command("list", epilog=None)(with_params(info.list_cmd, reader_params()))
app.command("validate")(with_params(info.validate_cmd, reader_params()))
app.command("themes")(info.themes_cmd)
app.command("formats")(info.formats_cmd)
app.command("convert")(with_params(convert.convert_cmd, reader_params()))
app.command("init")(init.init_cmd)
app.command("serve")(with_params(serve.serve_cmd, reader_params()))


@cache
def _exporter_command(name: str) -> Any:
    """The click command of one exporter (or ``all``, or ``push``), made from its Options like any Typer command."""
    if name == "push":
        from . import push

        command = push.command()
    elif name == "all":
        in_all = [cls for cls in exporters.registry.load().values() if cls.in_all]
        if not in_all:
            return None
        command = export.all_command(in_all)
    else:
        cls = exporters.registry.find(name)
        if cls is None:
            return None
        command = export.make_command(cls)
    single = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False, rich_markup_mode=None)
    single.command(name, help=command.__doc__, epilog=EPILOG)(command)
    return typer.main.get_command(single)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP end a run like Ctrl-C: temp files removed, outputs untouched, exit 130. Later
    signals are ignored so that clean-up finishes."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


_STOP_SIGNALS = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]


def main() -> None:
    """The ``qaexport`` command. It ends as Click ends every command, with ``SystemExit`` and the command's status
    (the interpreter's own exit: atexit handlers, flushes, teardown)."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    report_plugin_faults()  # a broken plugin is named once, and every other command still works
    try:
        app(prog_name="qaexport")
    finally:  # plugins load when a command needs them, even for its --help
        report_plugin_faults()
