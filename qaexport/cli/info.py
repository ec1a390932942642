"""Commands that inspect content: list, validate, themes."""

from __future__ import annotations

import typer

from .. import render, sources
from ..model import Difficulty
from ..render import DEFAULT_NIGHT_THEME, DEFAULT_THEME
from .common import (
    DifficultyOpt,
    Sources,
    TopicOpt,
    err,
    handle_errors,
    load_library,
    out,
    report_warnings,
    source_paths,
)


@handle_errors
def list_cmd(srcs: Sources = None, difficulty: DifficultyOpt = None, topic: TopicOpt = None) -> None:
    """Show frameworks, topics and subtopics with question counts per difficulty.

    Example: qaexport list data/ --difficulty hard
    """
    from rich.table import Table

    library = load_library(srcs, difficulty, topic)
    table = Table(title=library.title, title_justify="left")
    table.add_column("framework › topic › subtopic")
    for d in Difficulty:
        table.add_column(d.label, justify="right")
    table.add_column("total", justify="right", style="bold")
    for fw, topic_, sub in library.subtopics():
        counts = [sum(q.difficulty is d for q in sub.questions) for d in Difficulty]
        table.add_row(f"{fw.name} › {topic_.name} › {sub.name}", *map(str, counts), str(len(sub.questions)))
    totals = library.counts_by_difficulty()
    n_subtopics = sum(1 for _ in library.subtopics())
    table.add_section()
    table.add_row(f"{n_subtopics} subtopics", *(str(totals[d]) for d in Difficulty), str(library.count()))
    out.print(table)


@handle_errors
def validate_cmd(srcs: Sources = None) -> None:
    """Check every file and report every problem (not just the first); exit 1 if any.

    Example: qaexport validate data/ more-banks/
    """
    files = sources.expand(source_paths(srcs))
    library, problems, warnings = sources.read_all(files)
    report_warnings(warnings)
    for problem in problems:
        err.print(f"[red]✗[/] {problem}", soft_wrap=True, emoji=False)
    if problems:
        err.print(f"{len(problems)} problem(s) in {len(files)} file(s)")
        raise typer.Exit(1)
    n_subtopics = sum(1 for _ in library.subtopics())
    out.print(f"ok: {library.count()} questions in {n_subtopics} subtopics from {len(files)} file(s)")


def themes_cmd() -> None:
    """List the installed Pygments styles usable with --theme and --night-theme."""
    for name in render.available_themes():
        mark = " (default)" if name == DEFAULT_THEME else " (default night)" if name == DEFAULT_NIGHT_THEME else ""
        typer.echo(f"{name}{mark}")
