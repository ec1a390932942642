"""The exporter contract (:class:`Exporter`, with the defaults of its optional members in :class:`ExporterBase`),
what every exporter gets (:class:`Build`), and the registry.

An exporter is a class registered in the ``qaexport.exporters`` entry-point group (built-in and third-party
alike). :class:`Exporter` lists everything the core reads or calls on it, and nothing else is ever looked
for: the registry checks each member once, when the plugin loads, and reports a class that lacks one.

Exporters consume :class:`Build`; they never parse content, read input files, read the environment or the
clock.
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
from ..plugins import EXPORTERS_GROUP, Registry, option
from ..render import Rendered, Scheme

if TYPE_CHECKING:
    from ..render import Highlighter

GROUP = EXPORTERS_GROUP
__all__ = ["GROUP", "Build", "Exporter", "ExporterBase", "Produces", "Scheme", "option", "registry"]

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
    #: The user's cache folder, where laid-out parts of a booklet are kept between runs (``weasy.kept``); None
    #: (``--no-cache``, tests, previews) keeps nothing.
    cache_dir: Path | None = None
    #: The time is fixed (SOURCE_DATE_EPOCH): libraries that date what they write by it (fontTools, the font
    #: subsets in a PDF) write the same bytes at every run.
    time_fixed: bool = False
    #: Files earlier builds of this very command (the same sources, options and working folder: the build
    #: manifest's run key) wrote into this output's folder under another name, each with the digest
    #: (``reading.file_digest``) it was written with; newest first, at most ``manifest.KEEP_BUILDS``. A renamed place
    #: that renames the default output (``dist/web-servers.apkg`` → ``dist/web-http-servers.apkg``) leaves the old
    #: deck there: the Anki exporter tells the rename from it. Empty with ``--no-cache`` (no manifest).
    earlier: tuple[tuple[Path, str], ...] = ()

    @property
    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.time, tz=UTC)


class Exporter(Protocol):
    """Everything the core reads or calls on an exporter class. The members with a default in
    :class:`ExporterBase` (``suffix``, ``heavy``, ``night_mode``, ``declines``, ``prepare``) come from it when the
    class subclasses it."""

    #: The command name, equal to the entry-point name (``qaexport NAME``, ``[NAME]`` in ``qaexport.toml``).
    name: ClassVar[str]
    #: ``Produces.FILE``: one file ``<stem><suffix>``; ``Produces.FOLDER``: a folder ``<stem><suffix>`` it fills
    #: (``-site``: ``dist/<stem>-site/``). The CLI derives default targets and its "wrote ..." lines from these.
    produces: ClassVar[Produces]
    suffix: ClassVar[str]
    #: The :class:`~qaexport.render.Scheme` its texts are rendered in (``build.rendered``).
    scheme: ClassVar[Scheme]
    #: Whether ``qaexport all`` runs it.
    in_all: ClassVar[bool]
    #: It keeps every core busy for most of a run (the PDF's layout): ``all`` runs the others beside it at the
    #: lowest priority.
    heavy: ClassVar[bool]
    #: It shows a second (dark) theme: the commands offer ``--night-theme``.
    night_mode: ClassVar[bool]
    #: A dataclass whose fields (made with :func:`option`) are its command-line flags and its table in
    #: ``qaexport.toml``.
    Options: ClassVar[type]

    @staticmethod
    def declines(library: Library) -> str:
        """Why this exporter does not take this content ("" when it does): ``all`` skips it with this reason."""
        ...

    @staticmethod
    def prepare() -> None:
        """Load what ``export`` needs that does not depend on the content (imports, templates); it runs while the
        texts render in child processes, on the core this process would otherwise spend beside them."""
        ...

    def export(self, build: Build, options: Any, target: Path) -> None:
        """Write ``target`` (a file, or a folder for ``Produces.FOLDER``) from ``build``, only through
        :mod:`qaexport.output`."""
        ...


class ExporterBase:
    """The defaults of :class:`Exporter`'s optional members; subclass it and declare the rest."""

    suffix: ClassVar[str] = ""
    heavy: ClassVar[bool] = False
    night_mode: ClassVar[bool] = False

    @staticmethod
    def declines(library: Library) -> str:
        return ""

    @staticmethod
    def prepare() -> None:
        return None

    @classmethod
    def prepare_alone(cls, library: Library) -> None:
        """``prepare`` when this exporter is the run's only one and exports in this process (its own command, not
        `all`), knowing the ``library``: it may start what its export will use here (the PDF of a small book starts
        its layout process). Anything it starts and ``export`` does not use ends with the command
        (:func:`qaexport.forked.started_ahead`)."""
        cls.prepare()

    @staticmethod
    def start_before_reading(sources: list[Path]) -> None:
        """When this exporter is the run's only one and exports in this process (its own command), before its
        ``sources`` are read: it may start what its export will use, so that it gets ready while the sources are
        read and rendered (the PDF of a small bank starts its layout process). Anything it starts and ``export``
        does not use ends with the command (:func:`qaexport.forked.started_ahead`)."""
        return None

    @staticmethod
    def outside_state(state_dir: Path | None) -> str | None:
        """What besides the build's inputs and options decides what ``export`` writes, as text a build manifest
        (``qaexport.manifest``) compares between builds: "" when nothing does; None when something does that it
        cannot describe (then every build builds). An exporter not derived from this class has none, so its
        builds are never skipped."""
        return ""


#: The members :class:`Exporter` lists, each checked when a plugin loads: nothing else is looked for later.
MEMBERS = ("name", "produces", "suffix", "scheme", "in_all", "heavy", "night_mode", "Options", "declines",
           "prepare", "export")


def contract_problem(name: str, cls: object) -> str:
    """What is wrong with ``cls`` as the exporter registered as ``name`` ("" when nothing is)."""
    if not inspect.isclass(cls):
        return "the entry point must name a class"
    missing = [m for m in MEMBERS if m not in dir(cls)]
    if missing:
        return (f"it lacks {', '.join(f'`{m}`' for m in missing)} (subclass qaexport.exporters.ExporterBase for "
                "the defaults of the optional ones)")
    if cls.name != name:
        return f"its class's `name` must be {name!r}"
    if cls.scheme not in set(Scheme):
        return f"unknown scheme {cls.scheme!r} (known: {', '.join(Scheme)})"
    if cls.produces not in set(Produces):
        return f"`produces` must be one of {', '.join(Produces)}, not {cls.produces!r}"
    if cls.produces == Produces.FILE and not (isinstance(cls.suffix, str) and cls.suffix.startswith(".")):
        return "a file exporter needs a `suffix` such as '.pdf'"
    for flag in ("in_all", "heavy", "night_mode"):
        if not isinstance(getattr(cls, flag), bool):
            return f"`{flag}` must be True or False"
    if not dataclasses.is_dataclass(cls.Options):
        return "`Options` must be a dataclass"
    for method in ("declines", "prepare", "export"):
        if not callable(getattr(cls, method)):
            return f"`{method}` must be a method"
    return ""


registry: Registry[type[Exporter]] = Registry(GROUP, "exporter", contract_problem)
