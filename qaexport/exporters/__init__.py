"""Exporter contract and registry.

An exporter is a class registered in the ``qaexport.exporters`` entry-point group (built-in
and third-party alike) with:

* ``name``: its command name (equal to the entry-point name);
* ``produces`` and ``suffix``: one file with that suffix (``Produces.FILE``), or a folder it
  fills (``Produces.FOLDER``) — the CLI derives default targets and reports from this;
* ``scheme``: the :class:`~qaexport.render.Scheme` its texts come in (checked at registration);
* ``in_all``: whether ``qaexport all`` runs it;
* ``Options``: a dataclass whose fields (made with :func:`option`) become its command-line flags;
* ``export(build, options, target)``;
* optionally ``prepare()``, a static method: imports and loads what ``export`` needs that does not depend on
  the content (WeasyPrint, templates). It runs while the texts render in child processes, on the core this
  process would otherwise spend rendering beside them.

Exporters consume :class:`Build`; they never parse content, read input files, read the
environment or the clock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import inspect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..model import Library
from ..plugins import Registry, option
from ..render import Rendered, Scheme

if TYPE_CHECKING:
    from ..render import Highlighter

GROUP = "qaexport.exporters"
__all__ = ["GROUP", "Build", "Exporter", "Produces", "Scheme", "option", "registry"]

Advance = Callable[[int], None]
ProgressFactory = Callable[[str, int | None], AbstractContextManager[Advance]]  # None: no known total


class Produces(enum.StrEnum):
    FILE = "file"  # one file named <stem><suffix>
    FOLDER = "folder"  # a folder the exporter fills


@contextlib.contextmanager
def no_progress(_label: str, _total: int | None) -> Iterator[Advance]:
    yield lambda n=1: None


def _ignore(_message: str) -> None:
    pass


@dataclass
class Build:
    """Everything an exporter needs, prepared once per run: the library, its texts rendered in the
    exporter's scheme, the highlighter for theme CSS, and the build's one clock."""

    library: Library
    rendered: dict[str, Rendered]
    highlighter: Highlighter
    time: float  # SOURCE_DATE_EPOCH or the start of the run, read once by the CLI
    progress: ProgressFactory = no_progress
    warn: Callable[[str], None] = _ignore
    #: The user's folder for state kept between runs (the Anki note-time ledger), chosen by the CLI
    #: ($QAEXPORT_STATE_DIR, else the platform's user state folder); None keeps no state.
    state_dir: Path | None = None

    @property
    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.time, tz=UTC)


class Exporter(Protocol):
    name: ClassVar[str]
    suffix: ClassVar[str]
    produces: ClassVar[Produces]
    scheme: ClassVar[Scheme]
    in_all: ClassVar[bool]
    Options: ClassVar[type]

    def export(self, build: Build, options: Any, target: Path) -> None: ...


def _check(name: str, cls: object) -> str:
    if not inspect.isclass(cls):
        return "the entry point must name a class"
    if getattr(cls, "name", None) != name:
        return f"its class's `name` must be {name!r}"
    scheme = getattr(cls, "scheme", None)
    if scheme not in set(Scheme):
        return f"unknown scheme {scheme!r} (known: {', '.join(Scheme)})"
    produces = getattr(cls, "produces", None)
    if produces not in set(Produces):
        return f"`produces` must be one of {', '.join(Produces)}, not {produces!r}"
    suffix = getattr(cls, "suffix", None)
    if produces == Produces.FILE and not (isinstance(suffix, str) and suffix.startswith(".")):
        return "a file exporter needs a `suffix` such as '.pdf'"
    if not isinstance(getattr(cls, "in_all", None), bool):
        return "`in_all` must be True or False"
    if not dataclasses.is_dataclass(getattr(cls, "Options", None)):
        return "`Options` must be a dataclass"
    if not callable(getattr(cls, "export", None)):
        return "it has no `export` method"
    return ""


registry: Registry[type[Exporter]] = Registry(GROUP, "exporter", _check)
