"""Options every command shares, error handling at the command boundary, and progress bars."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from .. import plugins, sources
from ..errors import Problem, QaexportError, UsageError
from ..exporters import Advance
from ..model import Difficulty, Library

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

DEFAULT_SOURCE = Path("data")

Sources = Annotated[
    list[Path] | None,
    typer.Argument(help="Payload files (.json or saved .html) or folders of them. Default: ./data",
                   show_default=False, metavar="SOURCES"),
]
Theme = Annotated[str, typer.Option("--theme", metavar="STYLE",
                                    help="Pygments style for code (see `qaexport themes`).")]
NightTheme = Annotated[str, typer.Option("--night-theme", metavar="STYLE",
                                         help="Pygments style for Anki night mode and EPUB dark mode.")]
DifficultyOpt = Annotated[
    list[str] | None,
    typer.Option("--difficulty", "-d", help="Keep only this difficulty (easy, medium, hard); repeatable.",
                 show_default=False, metavar="LEVEL"),
]
TopicOpt = Annotated[
    list[str] | None,
    typer.Option("--topic", "-t", help="Keep only this framework/topic/subtopic (slug, name or key prefix "
                                       "like fastapi/deployment); repeatable.", show_default=False,
                 metavar="TOPIC"),
]

NoCache = Annotated[bool, typer.Option("--no-cache", help="Render everything afresh: neither read nor write the "
                                                         "render cache (QAEXPORT_CACHE_DIR, else the user's cache "
                                                         "folder).")]

F = TypeVar("F", bound=Callable[..., Any])


def report_plugin_faults() -> None:
    for fault in plugins.take_warnings():
        err.print(f"warning: {fault}", soft_wrap=True, emoji=False, markup=False)


def report_warnings(warnings: list[Problem]) -> None:
    for warning in warnings:
        err.print(f"warning: {warning}", soft_wrap=True, emoji=False, markup=False)


def handle_errors(func: F) -> F:
    """Turn qaexport's errors into one line on stderr and an exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QaexportError as exc:
            report_plugin_faults()
            err.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True, emoji=False)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # the environment (disk, permissions), not a bug: one line, no traceback
            where = f"{exc.filename}: " if exc.filename else ""
            err.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", markup=True, soft_wrap=True, emoji=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted; no output file was changed", soft_wrap=True)
            raise typer.Exit(130) from None
        finally:
            report_plugin_faults()

    return wrapper  # type: ignore[return-value]


def parse_difficulties(values: list[str] | None) -> set[Difficulty] | None:
    if not values:
        return None
    chosen = set()
    for value in values:
        d = Difficulty.parse(value)
        if d is None:
            raise UsageError(f"--difficulty {value!r}: use easy, medium or hard")
        chosen.add(d)
    return chosen


def build_time() -> float:
    """The run's one clock: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return time.time()
    try:
        return float(int(raw))
    except ValueError:
        raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds; unset it or fix it") \
            from None


def render_cache(no_cache: bool) -> Any:
    """The render cache for this run: QAEXPORT_CACHE_DIR (read here, at the edge) or the user's cache folder."""
    if no_cache:
        return None
    from ..render.cache import RenderCache, default_folder

    folder = os.environ.get("QAEXPORT_CACHE_DIR", "").strip()
    return RenderCache(Path(folder).expanduser() if folder else default_folder(), clock=time.time)


def source_paths(srcs: list[Path] | None) -> list[Path]:
    if not srcs and not DEFAULT_SOURCE.exists():
        raise UsageError("no SOURCES given and there is no ./data folder; name a question file or folder")
    return srcs or [DEFAULT_SOURCE]


def load_library(srcs: list[Path] | None, difficulty: list[str] | None = None,
                 topic: list[str] | None = None) -> Library:
    warnings: list[Problem] = []
    try:
        library = sources.load(source_paths(srcs), warnings)
    finally:
        report_warnings(warnings)
    filtered = library.filtered(parse_difficulties(difficulty), set(topic) if topic else None)
    if filtered.count() == 0:
        raise UsageError("the --difficulty/--topic filters match no question; `qaexport list` shows what there is")
    return filtered


@contextlib.contextmanager
def progress(label: str, total: int) -> Iterator[Advance]:
    """A progress bar on stderr for long work; silent when stderr is not a terminal."""
    if total < 50 or not sys.stderr.isatty():
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True)
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)
