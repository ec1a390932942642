"""Commands that inspect content and the installation: list, validate, themes, formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import exporters, render, sources
from ..errors import Problem
from ..model import Difficulty, path_names
from ..render import DEFAULT_NIGHT_THEME, DEFAULT_THEME
from ..sources import ReaderOptions
from .common import (
    ConfigOpt,
    DifficultyOpt,
    Sources,
    TopicOpt,
    err,
    handle_errors,
    load_library,
    load_settings,
    out,
    plural,
    reader_options,
    report_warnings,
    say,
    source_paths,
)

KeysOpt = Annotated[bool, typer.Option("--keys", help="Print one stable key per line (the Key field of each Anki "
                                                      "note), nothing else.")]


def _inputs(ctx: typer.Context, srcs: list[Path] | None, config_path: Path | None, values: dict[str, Any]
            ) -> tuple[list[Path], ReaderOptions]:
    config = load_settings(config_path, defer=True)  # checked even when SOURCES are given (reader_options)
    return srcs or config.top.get("sources") or source_paths(None), reader_options(ctx, values, config)


@handle_errors
def list_cmd(ctx: typer.Context, srcs: Sources = None, difficulty: DifficultyOpt = None, topic: TopicOpt = None,
             keys: KeysOpt = False, config: ConfigOpt = None, **values: Any) -> None:
    """Show frameworks, topics and subtopics with their slugs and question counts per difficulty.

    Examples: qaexport list data/ --difficulty hard;  qaexport list --keys > keys.txt
    """
    from rich.table import Table
    from rich.text import Text

    paths, options = _inputs(ctx, srcs, config, values)
    library = load_library(paths, difficulty, topic, options)
    if keys:
        from ..formats.anki_key import key_field

        for ref in library.questions():
            say(key_field(ref.question.key, ref.question.origin))
        return
    table = Table(title=Text(library.title), title_justify="left")  # content: never read as rich markup
    table.add_column("framework › topic › subtopic\n  --topic slug", overflow="fold", min_width=24)
    unlabelled = sum(1 for r in library.questions() if r.question.difficulty is None)
    for d in Difficulty:
        table.add_column(d.label, justify="right")
    if unlabelled:
        table.add_column("unrated", justify="right")
    table.add_column("total", justify="right", style="bold")
    for fw, topic_, sub in library.subtopics():
        counts = [sum(q.difficulty is d for q in sub.questions) for d in Difficulty]
        if unlabelled:
            counts.append(sum(q.difficulty is None for q in sub.questions))
        table.add_row(Text(" › ".join(path_names(fw, topic_, sub)) + "\n") +
                      Text(f"  {fw.slug}/{topic_.slug}/{sub.slug}", style="dim"),
                      *map(str, counts), str(len(sub.questions)))
    totals = library.counts_by_difficulty()
    n_subtopics = sum(1 for _ in library.subtopics())
    table.add_section()
    table.add_row(plural(n_subtopics, "subtopic"), *(str(totals[d]) for d in Difficulty),
                  *([str(unlabelled)] if unlabelled else []), str(library.count()))
    out.print(table)


@handle_errors
def validate_cmd(ctx: typer.Context, srcs: Sources = None, config: ConfigOpt = None, **values: Any) -> None:
    """Check every file and report every problem (not just the first); exit 1 if any.

    Example: qaexport validate data/ more-banks/
    """
    paths, options = _inputs(ctx, srcs, config, values)
    skipped: list[Problem] = []
    files = sources.expand(paths, options, skipped)
    library, problems, warnings = sources.read_all(files)
    report_warnings(skipped + warnings + [Problem(where, said) for where, said in library.unpinned])
    if problems:
        from rich.text import Text

        for problem in problems:  # content and paths: never read as rich markup
            err.print(Text.assemble(("✗", "red"), f" {problem}"), soft_wrap=True, emoji=False, highlight=False)
        err.print(f"{plural(len(problems), 'problem')} in {plural(len(files), 'file')}")
        raise typer.Exit(1)
    n_subtopics = sum(1 for _ in library.subtopics())
    say(f"ok: {plural(library.count(), 'question')} in {plural(n_subtopics, 'subtopic')} from "
        f"{plural(len(files), 'file')}")


def themes_cmd() -> None:
    """List the installed Pygments styles usable with --theme and --night-theme."""
    for name in render.available_themes():
        mark = " (default)" if name == DEFAULT_THEME else " (default night)" if name == DEFAULT_NIGHT_THEME else ""
        typer.echo(f"{name}{mark}")


def formats_cmd() -> None:
    """List the installed input formats (sources) and outputs (exporters), built-in and plugins."""
    typer.echo("Inputs:")
    for name, reader in sources.registry.load().items():
        missing = getattr(reader, "unavailable", lambda: "")()  # an extra not installed (trial10 #19)
        typer.echo(f"  {name:<10} {', '.join(reader.suffixes):<24} {reader.description}"
                   + (f" [not available: {missing}]" if missing else ""))
    typer.echo("Outputs:")
    for name, cls in exporters.registry.load().items():
        what = cls.suffix if cls.produces == exporters.Produces.FILE else "a folder"
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        typer.echo(f"  {name:<10} {what:<24} {doc}")
