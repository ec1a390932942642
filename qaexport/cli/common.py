"""Options every command shares, error handling at the command boundary, and progress bars."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .. import plugins, sources
from ..errors import Problem, QaexportError, UsageError, describe_os_error
from ..exporters import Advance
from ..model import Difficulty, Library
from .config import Config, load_config
from .options import OptionSpec, fields_of, nonempty_path, reader_specs, typer_params

if TYPE_CHECKING:
    from ..render import Highlighter


class LazyConsole:
    """A rich ``Console`` made on first use: importing rich costs ~15 ms, and ``--help`` and usage errors
    print through Click without it. Every attribute is the Console's own (``err.print(...)``)."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Any = None

    @property
    def rich(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich, name)


err = LazyConsole(stderr=True)
out = LazyConsole(stderr=False)


def say(line: str) -> None:
    """One plain line on stdout (what was written, keys, counts): printed as it is, where rich would read a
    path's ``[...]`` as markup and ``:name:`` as an emoji, and without loading rich (~15 ms) for it."""
    try:
        typer.echo(line)
    except BrokenPipeError:  # the reader went away (`qaexport list --keys | head`): stop quietly, exit 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail
        raise SystemExit(1) from None

DEFAULT_SOURCE = Path("data")

Sources = Annotated[
    list[Path] | None,
    typer.Argument(help="Question files (payload .json/.html, Markdown banks, ... see `qaexport formats`) or "
                        "folders of them, walked recursively. Default: ./data (or `sources` in qaexport.toml)",
                   show_default=False, metavar="SOURCES",
                   parser=nonempty_path("name a question file or folder (. is the working folder)")),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Config file with defaults. Default: ./qaexport.toml when it exists.",
                 show_default=False, metavar="FILE",
                 parser=nonempty_path("name a qaexport.toml file, or leave --config out")),
]
Theme = Annotated[str, typer.Option("--theme", metavar="STYLE",
                                    help="Pygments style for code (see `qaexport themes`).")]
NightTheme = Annotated[str, typer.Option("--night-theme", metavar="STYLE",
                                         help="Pygments style for code at night: Anki's night mode, EPUB dark mode, "
                                              "the study site's night colours.")]
DifficultyOpt = Annotated[
    list[str] | None,
    typer.Option("--difficulty", "-d", help="Keep only these difficulties: easy, medium, hard, unrated (no "
                                            "difficulty given); repeat -d or separate with commas (-d easy,medium).",
                 show_default=False, metavar="LEVEL"),
]
TopicOpt = Annotated[
    list[str] | None,
    typer.Option("--topic", "-t", help="Keep only this framework/topic/subtopic: a slug, a name, a key prefix "
                                       "like fastapi/deployment or a breadcrumb from `qaexport list`; repeatable.",
                 show_default=False, metavar="TOPIC"),
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
            from rich.text import Text

            report_plugin_faults()
            for line in str(exc).splitlines():  # a config file's problems: one line each
                err.print(Text.assemble(("error:", "bold red"), " ", line), soft_wrap=True, emoji=False,
                          highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # the environment (disk, permissions), not a bug: one line, no traceback
            from rich.text import Text

            err.print(Text.assemble(("error:", "bold red"), f" {describe_os_error(exc)}"), soft_wrap=True,
                      emoji=False, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            from .. import stops

            stops.say()  # once: the command's end (launch.main) says it only if nothing has
            raise typer.Exit(130) from None
        finally:
            report_plugin_faults()

    return wrapper  # type: ignore[return-value]


#: ``-d unrated``: the questions their source gives no difficulty (Markdown's ``.unrated``, Anki cards).
UNRATED = "unrated"


def parse_difficulties(values: list[str] | None) -> set[Difficulty | None] | None:
    """The difficulties asked for; ``None`` in the set stands for unrated questions."""
    if not values:
        return None
    chosen: set[Difficulty | None] = set()
    for value in (part for v in values for part in v.split(",")):
        if value.strip().lower() == UNRATED:
            chosen.add(None)
            continue
        d = Difficulty.parse(value)
        if d is None:
            raise UsageError(f"--difficulty {value.strip()!r}: use easy, medium, hard or unrated")
        chosen.add(d)
    return chosen


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


#: 2099-12-31T23:59:59Z: the last build time every output format can store.
LAST_ZIP_TIME = 4_102_444_799


def build_time() -> float:
    """The run's one clock: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return time.time()
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds; unset it or fix it") \
            from None
    if not 0 <= value <= LAST_ZIP_TIME:  # zip entries cannot be dated past 2107
        raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is outside 1970–2099 (0 to {LAST_ZIP_TIME}); "
                         "unset it or give a date in that range")
    return float(value)


def render_cache(no_cache: bool) -> Any:
    """The render cache for this run: QAEXPORT_CACHE_DIR (read here, at the edge) or the user's cache folder."""
    if no_cache:
        return None
    from ..render.cache import RenderCache, default_folder

    folder = os.environ.get("QAEXPORT_CACHE_DIR", "").strip()
    return RenderCache(Path(folder).expanduser() if folder else default_folder(), clock=time.time)


#: Where the static font instances are kept (qaexport/books/instances.py); else the user's cache folder.
FONT_DIR_ENV = "QAEXPORT_FONT_DIR"


def use_font_store() -> None:
    """Tell the print layouts where the static font instances live: ``$QAEXPORT_FONT_DIR`` (read here, at the
    edge; a relative path is resolved against the working folder now: the layouts name the files by ``file:`` URL,
    which must be absolute), else the user's cache folder; the lexers keep their compiled patterns there too
    (``render.patterns``)."""
    from ..books import instances
    from ..render import patterns

    folder = os.environ.get(FONT_DIR_ENV, "").strip()
    instances.use_store(Path(folder).expanduser().absolute() if folder else None)
    patterns.use_store(instances.store_folder())  # the joined lexer patterns: per installation too


STATE_DIR_ENV = "QAEXPORT_STATE_DIR"
#: ``QAEXPORT_LEXING=stock`` lexes code with Pygments' own loop only (render/lexing.py is an accelerator).
LEXING_ENV = "QAEXPORT_LEXING"


def accelerated_lexing() -> bool:
    """False when the user asked for Pygments' own lexing loop (``QAEXPORT_LEXING=stock``): the same HTML."""
    return os.environ.get(LEXING_ENV, "").strip().lower() != "stock"


def state_dir() -> Path:
    """Where qaexport keeps state between runs (the Anki note-time ledger): ``$QAEXPORT_STATE_DIR``, else the
    platform's user state folder (``$XDG_STATE_HOME/qaexport``, by default ``~/.local/state/qaexport``)."""
    chosen = os.environ.get(STATE_DIR_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    from platformdirs import user_state_path

    return user_state_path("qaexport", appauthor=False)


def source_paths(srcs: list[Path] | None) -> list[Path]:
    if not srcs and not DEFAULT_SOURCE.exists():
        raise UsageError("no SOURCES given and there is no ./data folder; name a question file or folder")
    return srcs or [DEFAULT_SOURCE]


def _skipped_below(source: Path, folder: Path) -> bool:
    """Whether a walk of the folder ``source`` skips ``folder`` below it (a hidden folder or qaexport's own output on
    the way: ``sources.own_output``)."""
    place = source
    for part in folder.relative_to(source).parts:
        place = place / part
        if part.startswith(".") or sources.own_output(place):
            return True
    return False


def refuse_writing_into_sources(option: str, folder: Path, srcs: list[Path]) -> None:
    """A bank written file by file (``convert``, ``markdown``) into a folder that is, holds or lies inside one of its
    sources is refused: its canonical files would sit beside the old ones (every question defined twice, a bank that
    no longer validates), and a later read of the source folder would take the new bank as well. Doing it in place is
    not sound either: the old files' names are not the canonical ones, and nothing is deleted."""
    try:
        out = folder.resolve()
        for src in srcs:
            where = src.resolve()
            if out != where and out.is_relative_to(where) and _skipped_below(where, out):
                continue  # ./dist, a site folder or a hidden one: a read of the source never takes it
            if out == where or out.is_relative_to(where) or where.is_relative_to(out):
                how = "is" if out == where else "lies inside" if out.is_relative_to(where) else "holds"
                raise UsageError(f"{option} {folder}: the folder {how} the source {src}; the new bank would be "
                                 "written beside the files it is read from (every question twice); write it to a "
                                 "folder outside the sources, then replace the old bank with it")
    except (OSError, RuntimeError):  # a path that cannot be resolved (a link loop): the write says what is wrong
        return


def config_tables() -> dict[str, list[type]]:
    """The config file's tables and the classes whose ``Options`` they hold: every installed exporter's and
    reader's (all are loaded, so only when there is a file to check or write), ``[push]`` and ``[serve]``."""
    from .. import exporters
    from ..exporters.anki.push import PushCommand
    from ..preview.options import ServeCommand

    found: dict[str, list[type]] = {}
    for registry in (exporters.registry, sources.registry):
        for name, cls in registry.load().items():
            if fields_of(cls):
                found.setdefault(name, []).append(cls)
    found.setdefault(PushCommand.name, []).append(PushCommand)
    found.setdefault(ServeCommand.name, []).append(ServeCommand)
    return found


def load_settings(config_path: Path | None, defer: bool = False) -> Config:
    """The config file (``config.load_config``); with ``defer`` its problems wait in ``Config.problems``."""
    return load_config(config_path, config_tables, defer)


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed this option (or set its environment variable), rather than a default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def choose(ctx: typer.Context, values: dict[str, Any], param: str, from_file: Any) -> Any:
    """A flag the user typed, else the config file's value, else the flag's default."""
    if param in values and (given(ctx, param) or from_file is None):
        return getattr(values[param], "value", values[param])  # choices arrive as enum members
    return from_file


def make_highlighter(ctx: typer.Context, values: dict[str, Any], config: Config) -> Highlighter:
    """The code themes (flags over the config file); an unknown theme is a usage error naming where it came from: a
    flag's at once, the file's added to ``config.problems`` (the defaults stand in, so the other values are checked
    too)."""
    from ..render import DEFAULT_NIGHT_THEME, DEFAULT_THEME, Highlighter
    from ..render.highlight import load_style

    theme = choose(ctx, values, "theme", config.top.get("theme")) if "theme" in values else DEFAULT_THEME
    night = choose(ctx, values, "night_theme", config.top.get("night_theme")) if "night_theme" in values \
        else DEFAULT_NIGHT_THEME
    for name, default in (("theme", DEFAULT_THEME), ("night_theme", DEFAULT_NIGHT_THEME)):
        if name in config.top and name in values and not given(ctx, name):
            try:
                load_style(config.top[name])
            except UsageError as exc:
                config.problems.append(config.wrong(None, name, config.top[name], str(exc)))
                theme, night = (default, night) if name == "theme" else (theme, default)
    return Highlighter(theme, night, accelerated_lexing())


def plugin_options(ctx: typer.Context, cls: type, specs: list[OptionSpec], values: dict[str, Any], config: Config
             ) -> tuple[Any, str]:
    """A plugin's options (an exporter's, a reader's, push's) from its flags and its ``qaexport.toml`` table, or what
    is wrong with them ("" when nothing is), saying so in terms of the config file where the values came from there:
    every wrong value of the file one ``FILE:LINE: [table] key = value: ...`` line."""
    mine = [spec for spec in specs if cls.name in spec.exporters]
    from_file = [spec for spec in mine if not given(ctx, spec.param) and config.value(cls.name, spec.field) is not None]

    def made(file_fields: list[OptionSpec]) -> Any:
        return cls.Options(**{spec.field: choose(ctx, values, spec.param, config.value(cls.name, spec.field)
                                                 if spec in file_fields else None) for spec in mine})

    try:
        return made(from_file), ""
    except UsageError as exc:
        first = str(exc)
    if config.path is None or not from_file:
        return None, first
    try:
        made([])
    except UsageError as exc:
        return None, str(exc)  # the flags alone are wrong: that first
    found = []  # each value of the file checked alone, beside the flags: every wrong one told, one line each
    for spec in from_file:
        try:
            made([spec])
        except UsageError as exc:
            raw = config.raw.get(f"{cls.name}.{spec.field}", config.value(cls.name, spec.field))
            raw = getattr(exc, "item", raw)  # one wrong entry of a list: that entry, not the whole list
            found.append(config.wrong(cls.name, spec.field, raw, _without_flag(str(exc))))
    if not found:  # wrong only together (calibrate = true with duplex = "none")
        names = ", ".join(spec.field for spec in from_file)
        found.append(f"{config.path}: [{cls.name}] ({names}): {first}")
    return None, "\n".join(found)


_FLAG_AND_VALUE = re.compile(r"^--[a-z][\w-]* ")


def _without_flag(message: str) -> str:
    """An option's message (``--back-offset 'abc': give two numbers…``) without its flag and value, for a line that
    names the file's key and value instead."""
    head = _FLAG_AND_VALUE.match(message)
    if head is None:
        return message
    cut = message.find(": ", head.end())
    return message[cut + 2:] if cut != -1 else message


def reader_options(ctx: typer.Context, values: dict[str, Any], config: Config, defer: bool = False
                   ) -> sources.ReaderOptions:
    """Each reader's options from its flags (``--all-cards``) and its ``qaexport.toml`` table (``[apkg]``), their
    values checked as an exporter's are (:func:`plugin_options`). What is wrong is raised with the file's other
    problems, or with ``defer`` added to ``config.problems`` for the command to raise with its own."""
    chosen: sources.ReaderOptions = {}
    wrong: list[str] = []
    for name, cls in sources.registry.load().items():
        if fields_of(cls):
            options, message = plugin_options(ctx, cls, reader_specs({name: cls}), values, config)
            if message:
                wrong.append(message)
            else:
                chosen[name] = options
    if defer:
        config.problems.extend(wrong)
    else:
        config.raise_problems(wrong)
    return chosen


def reader_params() -> list[inspect.Parameter]:
    return typer_params(reader_specs(sources.registry.load()), several=False)


def with_params(func: F, extra: list[inspect.Parameter]) -> F:
    """``func`` with ``extra`` keyword options added to its signature (they arrive in ``**values``)."""
    signature = inspect.signature(func, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    func.__signature__ = signature.replace(parameters=[*kept, *extra])  # type: ignore[attr-defined]
    return func


def load_library(srcs: list[Path] | None, difficulty: list[str] | None = None,
                 topic: list[str] | None = None, options: sources.ReaderOptions | None = None,
                 seen: list[Problem] | None = None) -> Library:
    return filter_library(read_library(srcs, options, seen), difficulty, topic)


def read_library(srcs: list[Path] | None, options: sources.ReaderOptions | None = None,
                 seen: list[Problem] | None = None) -> Library:
    """Every question of the sources, warnings printed (and added to ``seen``)."""
    warnings: list[Problem] = []
    try:
        return sources.load(source_paths(srcs), warnings, options)
    finally:
        report_warnings(warnings)
        if seen is not None:
            seen.extend(warnings)


def filter_library(library: Library, difficulty: list[str] | None, topic: list[str] | None) -> Library:
    """The questions the filters keep; a filter that matches nothing is a usage error."""
    if topic:
        unmatched = [t for t in topic if library.filtered(topics={t}).count() == 0]
        if unmatched:
            shown = ", ".join(repr(t) for t in unmatched)
            raise UsageError(f"--topic {shown} matches nothing; `qaexport list` shows the slugs and breadcrumbs")
    filtered = library.filtered(parse_difficulties(difficulty), set(topic) if topic else None)
    if filtered.count() == 0:
        raise UsageError("the --difficulty/--topic filters match no question; `qaexport list` shows what there is")
    return filtered


@contextlib.contextmanager
def progress(label: str, total: int | None, unit: str = "pages") -> Iterator[Advance]:
    """A progress bar on stderr for long work; silent when stderr is not a terminal. ``total=None``: a count of
    ``unit`` that moves without a known end (pages laid out); no count shown when ``unit`` is empty."""
    if (total is not None and total < 50) or not sys.stderr.isatty():
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    count = MofNCompleteColumn() if total is not None else TextColumn(f"{{task.completed}} {unit}" if unit else "")
    bar = Progress(TextColumn("{task.description}"), BarColumn(), count, TimeElapsedColumn(),
                   console=err.rich, transient=True)
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)
