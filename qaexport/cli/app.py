"""The Typer app: inspection commands, one command per exporter, and ``all``."""

from __future__ import annotations

import signal
from types import FrameType

import typer

from .. import __version__, exporters
from . import convert, export, info, init, light_params
from .common import reader_params, report_plugin_faults, with_params

light_params.install()

EPILOG = """\b
Examples:
  qaexport list                        # what is in ./data
  qaexport anki                        # dist/<name>.apkg from ./data
  qaexport pdf --answers end --paper letter
  qaexport epub data/ more/ -o books/  # merge two folders into one book
  qaexport all --difficulty hard       # deck, booklet and EPUB of the hard ones
  qaexport list --keys                 # one stable key per line (the Anki notes' Key field)
\b
Exit codes: 0 ok, 1 content or output error, 2 usage error,
130 interrupted (Ctrl-C, SIGTERM, SIGHUP; an output file not finished is left as it was).
"""

app = typer.Typer(
    name="qaexport",
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


def _register_exporters() -> None:
    """A command per exporter; a broken exporter plugin is reported (once) and left out."""
    found = exporters.registry.load()
    for name, cls in found.items():
        app.command(name, help=cls.__doc__, epilog=EPILOG)(export.make_command(cls))
    in_all = [cls for cls in found.values() if cls.in_all]
    if in_all:
        command = export.all_command(in_all)
        app.command("all", help=command.__doc__, epilog=EPILOG)(command)


_register_exporters()


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP end a run like Ctrl-C: temp files removed, outputs untouched, exit 130. Later
    signals are ignored so that clean-up finishes."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


_STOP_SIGNALS = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]


def main() -> None:
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    report_plugin_faults()  # a broken plugin is named once, and every other command still works
    app(prog_name="qaexport")
