"""Readers: find the files a user named, hand each to the reader that claims it, assemble the result.

A reader is a plugin in the ``qaexport.sources`` entry-point group (the built-in readers register there like
any other), a class that satisfies :class:`Source` (:class:`SourceBase` gives the defaults of its optional
members). A file goes to the reader whose suffixes include its suffix; where several readers claim a suffix,
the first whose ``sniff`` accepts the file's first bytes wins. Nothing falls back to a default reader.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar, Protocol

from ..assemble import assemble
from ..errors import InputError, Problem, UsageError, ValidationError, problem
from ..model import Library
from ..plugins import SOURCES_GROUP, Registry
from ..reading import listed, not_regular, noticed_file, open_regular
from ..records import ReadResult

GROUP = SOURCES_GROUP
#: How much of a file ``sniff`` sees.
HEAD_BYTES = 4096


class Source(Protocol):
    """Everything the core reads or calls on a reader class; ``Options`` and ``sniff`` have defaults in
    :class:`SourceBase`. A reader applies no rules (ids, slugs, limits, duplicates): :mod:`qaexport.assemble`
    does, the same for every source."""

    #: The entry-point name.
    name: ClassVar[str]
    #: Lower-case, with the dot: ``(".csv", ".tsv")``.
    suffixes: ClassVar[tuple[str, ...]]
    #: One line for ``qaexport formats`` and messages about unknown files.
    description: ClassVar[str]
    #: None, or a dataclass of options (fields made with :func:`qaexport.plugins.option`) that every reading
    #: command offers as flags; a reader with options is made as ``cls(options)``, one without as ``cls()``.
    Options: ClassVar[type | None]

    def sniff(self, head: bytes) -> bool:
        """Whether the file whose first 4 KiB are ``head`` is this reader's (asked only when several readers
        claim its suffix)."""
        ...

    def read(self, path: Path) -> ReadResult:
        """Records, problems and media of one file; raise :class:`InputError` if it is not readable at all."""
        ...


class SourceBase:
    """The defaults of :class:`Source`'s optional members; subclass it and declare the rest."""

    Options: ClassVar[type | None] = None

    def sniff(self, head: bytes) -> bool:
        return True

    @classmethod
    def unavailable(cls) -> str:
        """Why this reader cannot read here ("" when it can): an extra that is not installed, with the command that
        installs it. ``qaexport formats`` shows it beside the format, and a folder source skips the reader's files
        with it as a warning (a file named on the command line still stops the run with the read's error). Optional:
        a reader without it is available."""
        return ""


#: The members :class:`Source` lists, each checked when a plugin loads.
MEMBERS = ("name", "suffixes", "description", "Options", "sniff", "read")


def contract_problem(name: str, cls: object) -> str:
    """What is wrong with ``cls`` as the reader registered as ``name`` ("" when nothing is)."""
    if not inspect.isclass(cls):
        return "the entry point must name a class"
    missing = [m for m in MEMBERS if m not in dir(cls)]
    if missing:
        return (f"it lacks {', '.join(f'`{m}`' for m in missing)} (subclass qaexport.sources.SourceBase for the "
                "defaults of the optional ones)")
    if cls.name != name:
        return f"its class's `name` must be {name!r}"
    if not isinstance(cls.suffixes, tuple) or not cls.suffixes or not all(
            isinstance(s, str) and s.startswith(".") and s == s.lower() for s in cls.suffixes):
        return "`suffixes` must be a non-empty tuple of lower-case suffixes such as '.csv'"
    if not isinstance(cls.description, str):
        return "`description` must be text"
    for method in ("sniff", "read"):
        if not callable(getattr(cls, method)):
            return f"`{method}` must be a method"
    if cls.Options is not None and not dataclasses.is_dataclass(cls.Options):
        return "`Options` must be a dataclass or None"
    return ""


registry: Registry[type[Source]] = Registry(GROUP, "source", contract_problem)


def known_formats() -> str:
    return "; ".join(f"{', '.join(cls.suffixes)} ({cls.description})" for cls in registry.load().values())


def _head(path: Path) -> bytes:
    with open_regular(path) as fh:
        try:
            return fh.read(HEAD_BYTES)
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None


#: Each reader's options by reader name (an instance of its ``Options`` dataclass), for readers that have any.
ReaderOptions = dict[str, object]


def make_reader(cls: type[Source], options: ReaderOptions | None = None) -> Source:
    """A reader instance; one that declares ``Options`` gets them (its defaults when none were given)."""
    if cls.Options is None:
        return cls()
    chosen = (options or {}).get(cls.name)
    return cls(chosen if chosen is not None else cls.Options())  # type: ignore[call-arg]


def reader_for(path: Path, options: ReaderOptions | None = None) -> Source | None:
    """The reader that claims ``path``, or None."""
    suffix = path.suffix.lower()
    claiming = [cls for cls in registry.require_any().values() if suffix in cls.suffixes]
    if len(claiming) == 1:
        return make_reader(claiming[0], options)
    if claiming:
        head = _head(path)
        for cls in claiming:
            reader = make_reader(cls, options)
            if reader.sniff(head):
                return reader
    return None


#: The folder every output goes to by default (``qaexport.cli.export.DEFAULT_OUTPUT``), below the working folder.
DEFAULT_OUTPUT = "dist"
#: The file in a folder ``qaexport site`` wrote (``qaexport.exporters.site.MARKER``).
SITE_MARKER = ".qaexport-site"


def own_output(folder: Path) -> bool:
    """A folder below a source folder that holds qaexport's own output, never read as questions (mkdocs skips its
    site_dir so): the default output folder (``./dist``: its decks would define every question twice) and any folder
    a site build wrote (its marker file; its pages are HTML that no reader takes)."""
    try:
        if (folder / SITE_MARKER).is_file():
            return True
        return folder.name == DEFAULT_OUTPUT and folder.resolve() == (Path.cwd() / DEFAULT_OUTPUT).resolve()
    except OSError:
        return False


def _walk(folder: Path, skipped: list[Problem]) -> list[Path]:
    """Every file below ``folder``, sorted, skipping hidden files and folders (``.git``, editor files), qaexport's
    own output folders (:func:`own_output`) and the files a build wrote and nothing changed since
    (:mod:`qaexport.own_files`: a deck written beside the bank); a folder that cannot be listed is skipped with a
    line in ``skipped``."""
    from ..launch import cache_folder
    from ..own_files import Written

    written = Written(cache_folder())
    found: list[Path] = []

    def unlisted(exc: OSError) -> None:
        skipped.append(problem(exc.filename or folder, f"skipped: cannot list this folder ({exc.strerror or exc})"))

    for root, dirs, files in os.walk(folder, onerror=unlisted):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not own_output(Path(root) / d))
        found.extend(Path(root) / f for f in sorted(files) if not f.startswith(".") and Path(root) / f not in written)
    listed(folder, found)
    return found


def listing(folder: Path) -> list[Path]:
    """The files below ``folder`` as a build lists them (a build manifest compares them with its record)."""
    return _walk(folder, [])


def _unreadable_file(path: Path) -> bool:
    """Whether ``path`` is a regular file (or a link to one) that could not be opened or read: unlike a broken link,
    a named pipe or a device, it is a bank file whose questions would go missing, so an error as when named."""
    try:
        return not not_regular(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def _not_taken(head: bytes, reader: Source) -> str:
    """Why a file with a reader's suffix is not that reader's: said plainly, so nothing is skipped in silence."""
    if not head.strip():
        return "the file is empty" if not head else "the file holds only white space"
    if b"\x00" in head:
        return f"binary data (NUL bytes), not a {reader.name} question file"
    return (f"not a {reader.name} question file ({reader.description}); name it on the command line to see "
            "why")


def expand(sources: Sequence[Path], options: ReaderOptions | None = None,
           skipped: list[Problem] | None = None) -> list[tuple[Path, Source]]:
    """Each input file once with its reader: files named directly (must be claimed) and the claimed
    files anywhere below named folders (others are skipped). In a folder, a claimed file that does not
    look like its format (a README.md beside a Markdown bank) is skipped with a line in ``skipped``, and so is
    one that is not a file: a named pipe, a device, a broken link. A claimed file that cannot be read (no read
    permission) is an error, as when named: its questions would silently be missing."""
    chosen: dict[Path, tuple[Path, Source]] = {}
    skipped = [] if skipped is None else skipped
    unreadable: list[Problem] = []
    for src in sources:
        if src.is_dir():
            found, passed = 0, []
            for path in _walk(src, passed):
                try:
                    reader = reader_for(path, options)
                    if reader is None:
                        continue
                    head = _head(path)
                except InputError as exc:  # only a file some reader claims is worth a line
                    if path.suffix.lower() in {s for cls in registry.require_any().values() for s in cls.suffixes}:
                        if _unreadable_file(path):  # a bank file the user wrote: its questions would be missing
                            unreadable.append(problem(path, f"{exc.problem.message}; give read permission "
                                                            f"(chmod u+r), or move it out of {src}"))
                            continue
                        kind = "a broken link" if path.is_symlink() and not path.exists() else ""
                        passed.append(problem(path, f"skipped: {kind or exc.problem.message}"))
                    continue
                if not reader.sniff(head):
                    passed.append(problem(path, f"skipped: {_not_taken(head, reader)}"))
                    continue
                missing = getattr(reader, "unavailable", str)()  # optional (SourceBase.unavailable)
                if missing:
                    passed.append(problem(path, f"skipped: {missing} to read it, or move it out of {src} to "
                                                "silence this"))
                    continue
                found += 1
                chosen.setdefault(path.resolve(), (path, reader))
            if not found and passed:  # the error says why each file was skipped (the warnings never print)
                raise UsageError("\n".join([f"{src}: folder holds no question files; every file that could be one "
                                             "was skipped:", *map(str, passed)]))
            if not found:
                raise UsageError(f"{src}: folder holds no question files; known formats: {known_formats()}")
            skipped += passed
        elif src.is_file():
            reader = reader_for(src, options)
            if reader is None:
                raise UsageError(f"{src}: not a format qaexport reads; known formats: {known_formats()}")
            chosen.setdefault(src.resolve(), (src, reader))
        elif src.exists():
            kind = not_regular(src.stat().st_mode)
            raise UsageError(f"{src}: {kind}, not a question file or folder")
        else:
            raise UsageError(f"{src}: no such file or folder")
    if unreadable:
        raise ValidationError(unreadable)
    for path, _reader in chosen.values():
        noticed_file(path)  # a build manifest's record of what was read (nothing unless a build watches)
    return list(chosen.values())


def read_file(path: Path, reader: Source) -> ReadResult:
    """One file's records, or its one problem when it is not readable at all (``qaexport serve`` re-reads a
    changed file alone with this)."""
    try:
        return reader.read(path)
    except InputError as exc:
        return ReadResult(problems=[exc.problem])


def _read_each(files: Iterable[tuple[Path, Source]]) -> Iterable[ReadResult]:
    for path, reader in files:
        yield read_file(path, reader)


def read_all(files: Iterable[tuple[Path, Source]]) -> tuple[Library, list[Problem], list[Problem]]:
    """Read every file, collecting all problems and warnings (for ``validate``)."""
    return assemble(_read_each(files))


def load(sources: Sequence[Path], warnings: list[Problem] | None = None,
         options: ReaderOptions | None = None) -> Library:
    """The merged library, or :class:`ValidationError` listing every problem; warnings go to ``warnings``."""
    skipped: list[Problem] = []
    library, problems, found = read_all(expand(sources, options, skipped))
    if warnings is not None:
        warnings.extend(skipped + found)
    if problems:
        raise ValidationError(problems)
    if library.count() == 0:
        raise ValidationError([problem(", ".join(map(str, sources)), "no questions found")])
    library.bank_files = {file: dataclasses.replace(found, name=bank_name(Path(file), sources))
                          for file, found in library.bank_files.items()}
    return library


def bank_name(path: Path, sources: Sequence[Path]) -> str:
    """Where a file sits in the bank it was read from: its path below the folder named (``fastapi/basics.md``),
    or its own name when it was named itself."""
    for src in sources:
        if path != src and path.is_relative_to(src):
            return path.relative_to(src).as_posix()
    return path.name
