"""Exporter contract and registry.

An exporter is a class with ``name``, ``suffix``, ``description``, ``html_scheme``
(``"compact"`` highlighting for layout engines, ``"portable"`` for HTML stored where the
theme may change later), an ``Options`` dataclass (its command-line options, typed, with
``help`` in field metadata) and ``export(build, options, target)``. Built-in and third-party exporters register the same
way: an entry point in the ``qaexport.exporters`` group. Exporters consume rendered HTML
and theme CSS from :class:`Build`; they never parse Markdown or read input files.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..errors import UsageError
from ..model import Library
from ..render import Highlighter, Rendered

GROUP = "qaexport.exporters"

Advance = Callable[[int], None]
ProgressFactory = Callable[[str, int], AbstractContextManager[Advance]]


@contextlib.contextmanager
def no_progress(_label: str, _total: int) -> Iterator[Advance]:
    yield lambda n=1: None


def warn_on_stderr(message: str) -> None:
    """Default ``Build.warn``: one line on stderr (the CLI may pass its own)."""
    print(f"warning: {message}", file=sys.stderr)


@dataclass
class Build:
    """Everything an exporter needs, prepared once per run and shared by all exporters."""

    library: Library
    rendered: dict[str, Rendered]
    highlighter: Highlighter
    progress: ProgressFactory = no_progress
    warn: Callable[[str], None] = warn_on_stderr


class Exporter(Protocol):
    name: ClassVar[str]
    suffix: ClassVar[str]
    description: ClassVar[str]
    html_scheme: ClassVar[str]
    Options: ClassVar[type]

    def export(self, build: Build, options: Any, target: Path) -> None: ...


def option(default: Any, help: str, choices: tuple[str, ...] | None = None,
           flag: str | None = None) -> Any:
    """A dataclass field that the CLI turns into ``--flag`` with this help."""
    return field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


_registry: dict[str, type[Exporter]] | None = None


def registry() -> dict[str, type[Exporter]]:
    """Exporters by name, loaded from the entry-point group once."""
    global _registry
    if _registry is None:
        found: dict[str, type[Exporter]] = {}
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            cls = ep.load()
            name = getattr(cls, "name", None)
            if not name or name != ep.name:
                raise UsageError(f"exporter entry point {ep.name!r} must point at a class whose name is {ep.name!r}")
            if name in found:
                raise UsageError(f"two exporters are registered as {name!r}; uninstall one of them")
            found[name] = cls
        _registry = found
    return _registry


def get(name: str) -> type[Exporter]:
    exporters = registry()
    if name not in exporters:
        raise UsageError(f"unknown exporter {name!r}; known: {', '.join(exporters) or 'none'}")
    return exporters[name]
