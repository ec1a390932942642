"""Exporter options, described once and used twice: as command-line flags and as ``qaexport.toml`` keys.

Each exporter's ``Options`` dataclass is the source. For ``qaexport all`` the options of every
exporter are offered together: a field that several exporters declare the same way (same type and
choices, e.g. ``answers`` for pdf and epub) is one flag that applies to each of them; fields that
clash get the exporter's name as a prefix (``--pdf-answers``).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer


@dataclass(frozen=True)
class OptionSpec:
    """One command-line option, and the exporter fields it sets."""

    param: str  # the Python parameter name in the generated command
    flag: str  # --answers
    field: str  # the dataclass field name (also the key in qaexport.toml)
    kind: type  # str, bool, int, float or Path
    choices: tuple[str, ...] | None
    help: str
    default: Any
    exporters: tuple[str, ...]

    def describe_type(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return {str: "text", list: "a list of text (or one text)", bool: "true or false", int: "a whole number",
                float: "a number", Path: "a path"}.get(self.kind, self.kind.__name__)


def nonempty_path(how: str) -> Callable[[str], Path]:
    """A parser of a path as typed that refuses ``''`` saying ``how`` to fix it: ``Path('')`` is the working
    folder, so an empty SOURCES or ``--previous`` (an unset variable in a script: ``--previous "$OLD"``) silently
    meant ``.``. Typer's public ``parser`` sees the text before it becomes a path; the usage error is one line
    (:mod:`qaexport.cli.usage`)."""

    def parse(value: str) -> Path:
        if value == "":
            raise typer.BadParameter(f"the path is empty (''); {how}")
        return Path(value)

    return parse


#: An option's path: leaving the option out gives its default.
OPTION_PATH = nonempty_path("give a path, or leave the option out")


def _kind(annotation: Any) -> type:
    """The base type of a field annotation (``Path | None`` → ``Path``; a sequence of text → ``list``)."""
    if typing.get_origin(annotation) in (list, tuple, collections.abc.Sequence):
        return list
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:
        return _kind(args[0])
    return annotation if isinstance(annotation, type) else str


def fields_of(cls: type) -> list[tuple[dataclasses.Field, type]]:
    """A plugin's option fields (none for a plugin without ``Options``) with their base types."""
    if cls.Options is None:
        return []
    hints = typing.get_type_hints(cls.Options)
    return [(f, _kind(hints[f.name])) for f in dataclasses.fields(cls.Options)]


def reader_specs(readers: dict[str, type]) -> list[OptionSpec]:
    """Options of the installed readers (e.g. ``--all-cards`` of the Anki package reader): offered by every
    command that reads."""
    return [OptionSpec(f"source_{name}_{f.name}", f.metadata.get("flag") or "--" + f.name.replace("_", "-"),
                       f.name, kind, f.metadata.get("choices"), f.metadata.get("help", ""), f.default, (name,))
            for name, cls in readers.items() for f, kind in fields_of(cls)]


def specs_for(classes: list[type]) -> list[OptionSpec]:
    """The options of these exporters; shared where they agree, prefixed where they clash."""
    by_field: dict[str, list[tuple[str, dataclasses.Field, type]]] = {}
    for cls in classes:
        for f, kind in fields_of(cls):
            by_field.setdefault(f.name, []).append((cls.name, f, kind))
    specs = []
    for name, declared in by_field.items():
        shapes = {(kind, tuple(f.metadata.get("choices") or ())) for _, f, kind in declared}
        if len(shapes) == 1:
            exporter, f, kind = declared[0]
            flag = f.metadata.get("flag") or "--" + name.replace("_", "-")
            helps = {e: d.metadata.get("help", "") for e, d, _ in declared}
            help_text = helps[exporter]
            if f.metadata.get("choices") and len(set(helps.values())) > 1:  # the values mean something else in each
                help_text = " ".join(f"{e}: {h}" for e, h in helps.items())
            specs.append(OptionSpec(name, flag, name, kind, f.metadata.get("choices"), help_text,
                                    f.default, tuple(e for e, _, _ in declared)))
            continue
        for exporter, f, kind in declared:
            specs.append(OptionSpec(f"{exporter}_{name}", f"--{exporter}-{name.replace('_', '-')}", name, kind,
                                    f.metadata.get("choices"), f"{exporter}: {f.metadata.get('help', '')}",
                                    f.default, (exporter,)))
    return specs


def typer_params(specs: list[OptionSpec], several: bool) -> list[inspect.Parameter]:
    params = []
    for spec in specs:
        # In `all` every option names the formats it applies to (a prefixed one, --pdf-x, names it already).
        tagged = several and not spec.help.startswith(f"{spec.exporters[0]}: ")
        help_text = spec.help + (f" ({', '.join(spec.exporters)})" if tagged else "")
        kwargs: dict[str, Any] = {"help": help_text}
        annotation: Any = spec.kind
        flag = spec.flag
        default = spec.default
        if spec.choices:
            # An enum lets typer check the choice case-insensitively (--paper A4) and list the choices.
            annotation = enum.Enum(spec.param.title().replace("_", ""), {c: c for c in spec.choices}, type=str)
            kwargs["case_sensitive"] = False
            default = annotation(spec.default)
        elif spec.kind is bool:
            flag = f"{flag}/--no-{flag[2:]}"
        else:
            annotation = spec.kind | None if spec.default is None else spec.kind
            kwargs["metavar"] = {Path: "PATH", int: "INTEGER", float: "NUMBER"}.get(spec.kind, "TEXT")
            if spec.kind is Path:
                kwargs["parser"] = OPTION_PATH
            kwargs["show_default"] = bool(spec.default)
        params.append(inspect.Parameter(spec.param, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=Annotated[annotation, typer.Option(flag, **kwargs)]))
    return params
