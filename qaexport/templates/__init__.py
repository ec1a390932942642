"""Jinja2 templates and CSS shipped with the package, one folder per exporter."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def environment(exporter: str) -> Environment:
    """Templates for one exporter, autoescaped: content reaches them as text unless marked as rendered HTML."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape  # only when writing

    env = Environment(
        loader=PackageLoader("qaexport", f"templates/{exporter}"),
        autoescape=select_autoescape(["html", "xhtml", "xml", "j2", "opf", "ncx"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # shipped templates do not change during a run: no stat of the file per chapter
    )
    return env


def asset(exporter: str, name: str) -> str:
    """A static asset (CSS) from an exporter's template folder."""
    return resources.files("qaexport").joinpath("templates", exporter, name).read_text("utf-8")
