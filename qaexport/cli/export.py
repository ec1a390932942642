"""One command per registered exporter, generated from its ``Options`` dataclass, plus ``all``."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from .. import exporters, render
from ..exporters import Build, Produces
from ..render import DEFAULT_NIGHT_THEME, DEFAULT_THEME, Scheme, render_library
from .common import (
    DifficultyOpt,
    NightTheme,
    NoCache,
    Sources,
    Theme,
    TopicOpt,
    build_time,
    err,
    handle_errors,
    load_library,
    out,
    progress,
    render_cache,
)

DEFAULT_OUTPUT = Path("dist")

_SHARED = [
    inspect.Parameter("srcs", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=Sources),
    inspect.Parameter("theme", inspect.Parameter.KEYWORD_ONLY, default=DEFAULT_THEME, annotation=Theme),
    inspect.Parameter("night_theme", inspect.Parameter.KEYWORD_ONLY, default=DEFAULT_NIGHT_THEME,
                      annotation=NightTheme),
    inspect.Parameter("difficulty", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DifficultyOpt),
    inspect.Parameter("topic", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=TopicOpt),
    inspect.Parameter("no_cache", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=NoCache),
]


def _output_param(help_text: str) -> inspect.Parameter:
    return inspect.Parameter(
        "output", inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[Path | None, typer.Option("--output", "-o", help=help_text, show_default=False,
                                                       metavar="PATH")],
    )


def _option_params(cls: type) -> list[inspect.Parameter]:
    hints = typing.get_type_hints(cls.Options)
    params = []
    for f in dataclasses.fields(cls.Options):
        meta = f.metadata
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
        kwargs: dict[str, Any] = {"help": meta.get("help", "")}
        annotation = hints[f.name]
        if meta.get("choices"):
            annotation = Literal[tuple(meta["choices"])]  # typer shows and checks the choices
            kwargs["metavar"] = "[" + "|".join(meta["choices"]) + "]"
        elif hints[f.name] is bool:
            flag = f"{flag}/--no-{flag[2:]}"
        else:
            kwargs["metavar"] = "PATH" if "Path" in str(annotation) else "TEXT"
        params.append(inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
            annotation=Annotated[annotation, typer.Option(flag, **kwargs)],
        ))
    return params


def _target(output: Path | None, default_dir: Path, stem: str, cls: type, single: bool) -> Path:
    name = stem + (cls.suffix if cls.produces == Produces.FILE else "")
    if output is None:
        return default_dir / name
    if single and not output.is_dir() and not str(output).endswith(("/", "\\")):
        return output
    return output / name


def _written(target: Path, produces: Produces) -> str:
    """What an exporter wrote, told from what its contract says it produces."""
    if produces == Produces.FOLDER:
        count = sum(1 for p in target.rglob("*") if p.is_file())
        return f"{target}/ ({count} file{'s' if count != 1 else ''})"
    return f"{target} ({target.stat().st_size / 1024:.0f} KiB)"


def run(classes: list[type], options: dict[str, dict[str, Any]], *, srcs: list[Path] | None, theme: str,
        night_theme: str, difficulty: list[str] | None, topic: list[str] | None, output: Path | None,
        no_cache: bool = False) -> None:
    """Read and render once, then run each exporter on the shared build."""
    now = build_time()  # the one clock, read once
    highlighter = render.Highlighter(theme, night_theme)  # unknown themes fail before any reading
    chosen = [(cls, cls.Options(**options.get(cls.name, {}))) for cls in classes]
    library = load_library(srcs, difficulty, topic)
    schemes = [Scheme(cls.scheme) for cls in classes]
    cache = render_cache(no_cache)
    try:
        with progress("Rendering", library.count()) as advance:
            rendered = render_library(library, highlighter, schemes, advance, cache=cache)
    finally:
        if cache is not None:
            cache.close()
            if cache.stats.disabled:
                err.print(f"warning: render cache not used: {cache.stats.disabled}", soft_wrap=True, emoji=False,
                          markup=False)
    for cls, opts in chosen:
        build = Build(library, rendered[Scheme(cls.scheme)], highlighter, now, progress,
                      lambda message: err.print(f"warning: {message}", soft_wrap=True, emoji=False, markup=False))
        target = _target(output, DEFAULT_OUTPUT, library.slug, cls, single=len(classes) == 1)
        cls().export(build, opts, target)
        out.print(f"wrote {_written(target, cls.produces)}", soft_wrap=True)


def make_command(cls: type) -> Any:
    option_names = [f.name for f in dataclasses.fields(cls.Options)]

    @handle_errors
    def command(**kwargs: Any) -> None:
        opts = {name: kwargs.pop(name) for name in option_names}
        run([cls], {cls.name: opts}, **kwargs)

    default = f"dist/<name>{cls.suffix}" if cls.produces == Produces.FILE else "dist/<name>/"
    params = [*_SHARED, _output_param(f"Output file or folder. Default: {default}"), *_option_params(cls)]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = cls.__doc__
    command.__name__ = f"{cls.name}_cmd"
    return command


@handle_errors
def all_cmd(**kwargs: Any) -> None:
    run([cls for cls in exporters.registry.load().values() if cls.in_all], {}, **kwargs)


all_cmd.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [*_SHARED, _output_param("Output folder. Default: dist/")])
