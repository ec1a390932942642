"""The Typer app: inspection commands, one command per exporter, and ``all``."""

from __future__ import annotations

import typer

from .. import exporters
from . import export, info, light_params
from .common import report_plugin_faults

light_params.install()

EPILOG = """\b
Examples:
  qaexport list                        # what is in ./data
  qaexport anki                        # dist/<name>.apkg from ./data
  qaexport pdf --answers end --paper letter
  qaexport epub data/ more/ -o books/  # merge two folders into one book
  qaexport all --difficulty hard       # deck, booklet and EPUB of the hard ones
\b
Exit codes: 0 ok, 1 content or output error, 2 usage error.
"""

app = typer.Typer(
    name="qaexport",
    help="Turn interview-question banks (Nuxt page payloads) into an Anki deck, a PDF booklet and an EPUB.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

app.command("list", epilog=None)(info.list_cmd)
app.command("validate")(info.validate_cmd)
app.command("themes")(info.themes_cmd)


def _register_exporters() -> None:
    """A command per exporter; a broken exporter plugin is reported (once) and left out."""
    found = exporters.registry.load()
    for name, cls in found.items():
        app.command(name, help=cls.__doc__, epilog=EPILOG)(export.make_command(cls))
    in_all = [name for name, cls in found.items() if cls.in_all]
    if in_all:
        app.command("all", help="Write every format (" + ", ".join(in_all) + ") in one run, rendering once.",
                    epilog=EPILOG)(export.all_cmd)


_register_exporters()


def main() -> None:
    report_plugin_faults()  # a broken plugin is named once, and every other command still works
    app(prog_name="qaexport")
