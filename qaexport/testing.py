"""Helpers for a plugin's own test suite, the way Sphinx ships ``sphinx.testing``.

A plugin package tests its exporter or reader against the real qaexport: the same readers, renderer and
``Build`` the command line uses, with a small library that has what real banks have (code in two languages, a
table, a list, inline code, a question without a difficulty, non-Latin text). In the plugin's ``conftest.py``::

    pytest_plugins = ["qaexport.testing"]

gives the fixtures ``qaexport_bank`` (that library as a Markdown bank folder), ``qaexport_library`` (the library
read from it) and ``qaexport_output`` (an empty output folder). The functions work without pytest's fixtures too:

- :func:`exported` builds with an exporter and gives back the bytes (a file's, or a folder's as a mapping);
- :func:`check_exporter` and :func:`check_source` check a plugin against the contract the command line relies on
  (the same check as when the plugin loads, then a real build or read);
- :func:`read` reads one file with a reader and assembles it, as ``qaexport list`` would.

Nothing in qaexport itself imports this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import sources
from .assemble import assemble
from .errors import QaexportError
from .exporters import Build, Exporter, Produces
from .exporters import contract_problem as exporter_problem
from .model import Library
from .records import ReadResult
from .render import Highlighter, Scheme, render_library
from .sources import Source, make_reader
from .sources import contract_problem as source_problem

#: The build time of every helper here (2023-11-14): a fixed clock, so two builds can be compared byte for byte.
BUILD_TIME = 1_700_000_000.0

#: A small bank: two subtopics of one topic; fences, a table, a list, inline code, an unrated question, and text
#: beyond Latin-1.
BANK: dict[str, str] = {
    "python/basics/01-types.md": """---
framework: {name: Python, slug: python}
topic: {name: Basics, slug: basics}
subtopic: {name: Types, slug: types, description: Built-in types and what they cost.}
---

## What is the difference between a list and a tuple? {#list-vs-tuple .easy}

A list is mutable; a tuple is not, so a tuple can be a `dict` key:

```python
point = (1, 2)
seen = {point: "origin"}
```

## Which container fits which job? {#containers .medium}

| Need | Use |
| --- | --- |
| order, changes | `list` |
| fast membership | `set` |
| key → value | `dict` |

## Why is `0.1 + 0.2 != 0.3`? {#floats .unrated}

Binary floating point cannot hold 0.1 exactly — the sum is `0.30000000000000004`. Compare with
`math.isclose`, or use `decimal.Decimal` for money (€, ¥).
""",
    "python/basics/02-functions.md": """---
framework: {name: Python, slug: python}
topic: {name: Basics, slug: basics}
subtopic: {name: Functions, slug: functions}
---

## What does a default argument evaluated once cause? {#mutable-default .hard}

The default is made when the `def` runs, so a mutable one is shared between calls:

1. `def add(item, items=[])` appends to one list for ever;
2. write `items=None` and make the list inside.

```bash
python -c 'import this' | head -3
```
""",
}


def write_bank(folder: Path) -> Path:
    """Write :data:`BANK` into ``folder`` (made if missing); returns ``folder``."""
    for name, text in BANK.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def load(*paths: Path) -> Library:
    """The library read from files or folders by the installed readers, as the command line reads it (an
    :class:`~qaexport.errors.ValidationError` lists every problem)."""
    return sources.load(list(paths))


def build(exporter: type[Exporter], library: Library, *, theme: str = "default",
          night_theme: str | None = "monokai", state_dir: Path | None = None) -> Build:
    """What ``qaexport NAME`` hands the exporter: ``library`` rendered in its scheme, at :data:`BUILD_TIME`."""
    highlighter = Highlighter(theme, night_theme if exporter.night_mode else None)
    rendered = render_library(library, highlighter, [Scheme(exporter.scheme)], workers=1)
    return Build(library, rendered[Scheme(exporter.scheme)], highlighter, BUILD_TIME, state_dir=state_dir)


def target_in(exporter: type[Exporter], folder: Path, stem: str = "bank") -> Path:
    """Where the command line would write in ``folder``: ``stem + suffix`` for a file, ``stem/`` for a folder."""
    return folder / (stem + exporter.suffix if exporter.produces == Produces.FILE else stem)


def exported(exporter: type[Exporter], library: Library, folder: Path, **options: Any) -> bytes | dict[str, bytes]:
    """Build ``library`` with ``exporter`` into ``folder`` (options by field name, the rest their defaults); the
    file's bytes, or for a folder exporter each file's bytes by its path relative to the folder."""
    target = target_in(exporter, folder)
    exporter().export(build(exporter, library), exporter.Options(**options), target)
    if exporter.produces == Produces.FILE:
        return target.read_bytes()
    return {p.relative_to(target).as_posix(): p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()}


def check_exporter(exporter: type[Exporter], library: Library, folder: Path) -> None:
    """Fail (``AssertionError``) unless ``exporter`` honours the contract: the members the command line reads, an
    ``Options`` that works with its defaults, ``declines`` and ``prepare`` that run, and a build that writes its
    target and nothing else beside it, the same bytes when built twice at the same build time."""
    problem = exporter_problem(getattr(exporter, "name", "?"), exporter)
    assert not problem, f"{exporter.__name__}: {problem}"
    fields = dataclasses.fields(exporter.Options)
    missing = [f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    assert not missing, f"{exporter.__name__}.Options: {', '.join(missing)} need defaults (use qaexport.plugins.option)"
    assert isinstance(exporter.declines(library), str), f"{exporter.__name__}.declines must return text"
    exporter.prepare()
    first, second = folder / "first", folder / "second"
    for out in (first, second):
        out.mkdir(parents=True, exist_ok=False)
        exported(exporter, library, out)
        assert [p.name for p in out.iterdir()] == [target_in(exporter, out).name], \
            f"{exporter.__name__} wrote {sorted(p.name for p in out.iterdir())} instead of its one target"
    assert _tree(first) == _tree(second), f"{exporter.__name__}: two builds at the same build time differ"


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def read(reader: type[Source], path: Path, **options: Any) -> ReadResult:
    """What ``reader`` (made as the command line makes it, with these options) reads from ``path``."""
    chosen = {reader.name: reader.Options(**options)} if reader.Options is not None else None
    return make_reader(reader, chosen).read(path)


def check_source(reader: type[Source], path: Path, **options: Any) -> Library:
    """Fail (``AssertionError``) unless ``reader`` honours the contract: its members, a read of ``path`` that gives
    records or problems (an unreadable file raises :class:`~qaexport.errors.InputError`, never another error),
    and records that assemble into a library. Returns that library."""
    problem = source_problem(getattr(reader, "name", "?"), reader)
    assert not problem, f"{reader.__name__}: {problem}"
    assert path.suffix.lower() in reader.suffixes, f"{path.name} has none of {reader.__name__}'s suffixes"
    try:
        result = read(reader, path, **options)
    except QaexportError:
        raise
    except Exception as exc:  # a reader reports bad input as InputError, one line, never a traceback
        raise AssertionError(f"{reader.__name__}.read raised {type(exc).__name__} ({exc}), not InputError") from exc
    assert isinstance(result, ReadResult), f"{reader.__name__}.read must return a ReadResult"
    library, problems, _warnings = assemble([result])
    assert not problems and not result.problems, [str(p) for p in [*result.problems, *problems]]
    return library


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture()
def qaexport_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:data:`BANK` as a Markdown bank folder."""
    return write_bank(tmp_path_factory.mktemp("bank"))


@pytest.fixture()
def qaexport_library(qaexport_bank: Path) -> Library:
    """The library read from :func:`qaexport_bank`."""
    return load(qaexport_bank)


@pytest.fixture()
def qaexport_output(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty output folder; the render cache and the state folder (the Anki ledger) go to folders of the
    test's own, never the user's."""
    monkeypatch.setenv("QAEXPORT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    yield tmp_path_factory.mktemp("out")
