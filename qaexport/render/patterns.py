"""The joined lexer patterns kept between runs: compiled once per installation, not in every run.

:mod:`.lexing` joins a lexer's rules into one alternation per first character and compiles each the first time a
character needs it: for the Python lexer 60 patterns, ~30 ms of parsing and compiling in Python, and the rules'
first characters (:func:`~.first_chars.first_chars`, ~7 ms), before the first block of a code-heavy book is lexed —
in the process that renders before the others are forked, with the other core idle. They depend on nothing but the
pattern's text and flags and on the interpreter, so a run keeps what it compiled, and every later run of the same
interpreter takes the engine's code from the store (:func:`.compat.from_code`, ~1 ms for the 60).

The store is one file per interpreter (``patterns-<implementation>-<version>.json``) in the folder the CLI names
(:func:`use_store`: the per-installation store of the static font instances, ``QAEXPORT_FONT_DIR`` — not the render
cache, which holds the texts of one bank; nothing here comes from a bank). Without a folder (the library's API,
the tests) nothing is kept. What it holds is checked before use: the interpreter's full version and the engine's
magic number, a digest of the content, and the engine's own check of each code array; anything else found there
costs a compile, never a wrong pattern or a crash. Written atomically (``output.atomic_path``), merged with what
another process wrote meanwhile, bounded (:data:`MAX_BYTES`, :data:`MAX_ENTRIES`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from . import compat
from .first_chars import First
from .first_chars import first_chars as _first_chars

#: Bump when what the store holds changes meaning (the first-characters rules, the layout of an entry).
VERSION = 1
#: The largest store read (bytes, checked while reading): a Python-heavy book's 60 patterns take ~350 KiB.
MAX_BYTES = 8 * 2**20
#: Patterns kept at most: the ones this run used first, then the others, newest first.
MAX_ENTRIES = 2000

_folder: Path | None = None
_codes: dict[tuple[str, int], compat.Code] | None = None
_firsts: dict[tuple[str, int], First | None] = {}
_used: list[tuple[str, int]] = []
_changed = False


def use_store(folder: Path | None) -> None:
    """Keep the patterns in ``folder`` (the CLI's per-installation store); None: keep nothing. Forked children
    inherit what was loaded."""
    global _folder, _codes, _changed
    _folder, _codes, _changed = folder, None, False
    _firsts.clear()
    _used.clear()


def _key() -> str:
    """What decides a pattern's code besides its text and flags: the interpreter and its engine."""
    magic = getattr(compat._sre, "MAGIC", "") if compat.SUPPORTED else ""
    return f"qaexport-patterns-{VERSION} {sys.implementation.name} {sys.version} sre-{magic}"


def _path(folder: Path) -> Path:
    return folder / f"patterns-{sys.implementation.name}-{sys.version_info[0]}{sys.version_info[1]}.json"


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _read(folder: Path) -> tuple[dict[tuple[str, int], compat.Code], dict[tuple[str, int], First | None]]:
    """The store's patterns and first characters; empty when it is missing, too big, damaged or of another
    interpreter."""
    from ..hint_files import read_json

    stored = read_json(_path(folder), MAX_BYTES)  # never waits on a FIFO put in the cache folder
    try:
        body = stored["body"]
        if stored["key"] != _key() or stored["digest"] != _digest(body):
            return {}, {}
        content = json.loads(body)
        codes = {(text, flags): compat.Code(final, base64.b64decode(code, validate=True), groups,
                                            tuple((str(name), int(index)) for name, index in names))
                 for text, flags, final, code, groups, names in content["patterns"]
                 if isinstance(text, str) and type(flags) is int and type(final) is int and type(groups) is int}
        firsts = {(text, flags): (None if first is None else (frozenset(first[0]), bool(first[1]), bool(first[2])))
                  for text, flags, first in content["firsts"] if isinstance(text, str) and type(flags) is int}
        return codes, firsts
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, {}


def _load() -> dict[tuple[str, int], compat.Code]:
    global _codes
    if _codes is None:
        _codes, firsts = _read(_folder) if _folder is not None and compat.SUPPORTED else ({}, {})
        for key, first in firsts.items():
            _firsts.setdefault(key, first)
    return _codes


def keeping() -> bool:
    """Whether this process keeps patterns (the CLI named a store and the interpreter is one :mod:`.compat` knows)."""
    return _folder is not None and compat.SUPPORTED


def held() -> bool:
    """Whether the store held patterns when this process loaded it (loading it now if it has not): then the lexers
    a run needs are likely there, and a forked child builds them from their code as cheaply as this process."""
    return keeping() and bool(_load())


def compiled(text: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(text, flags)``: from the store when it holds the pattern, else compiled (and kept for
    :func:`save`)."""
    global _changed
    if not isinstance(text, str) or not isinstance(flags, int) or not keeping():
        return re.compile(text, flags)  # (with re's own cache of recent patterns)
    codes = _load()
    key = (text, int(flags))
    _used.append(key)
    code = codes.get(key)
    if code is not None:
        pattern = compat.from_code(text, code)
        if pattern is not None:
            return pattern
    pattern, code = compat.compile_keeping_code(text, key[1])
    if code is not None and _folder is not None:
        codes[key] = code
        _changed = True
    return pattern


def first_chars(text: str, flags: int) -> First | None:
    """:func:`.first_chars.first_chars`, from the store when it holds the answer."""
    global _changed
    _load()
    key = (text, flags)
    if key not in _firsts:
        _firsts[key] = _first_chars(text, flags)
        _changed = _changed or (_folder is not None and compat.SUPPORTED)
    return _firsts[key]


def save() -> None:
    """Write what this process compiled to the store, with what is there now (another process may have written
    meanwhile); nothing when nothing new was compiled, there is no store, or it cannot be written."""
    global _changed
    if not _changed or _folder is None or _codes is None:
        return
    from ..errors import OutputError
    from ..output import atomic_path

    codes, firsts = _read(_folder)
    codes.update(_codes)
    firsts.update(_firsts)
    order = list(dict.fromkeys([*reversed(_used), *reversed(codes)]))[:MAX_ENTRIES]
    body = json.dumps({
        "patterns": [[text, flags, codes[text, flags].flags, base64.b64encode(codes[text, flags].code).decode(),
                      codes[text, flags].groups, [list(name) for name in codes[text, flags].names]]
                     for text, flags in order if (text, flags) in codes],
        "firsts": [[text, flags, None if first is None else [sorted(first[0]), first[1], first[2]]]
                   for (text, flags), first in list(firsts.items())[-MAX_ENTRIES:]],
    })
    content: dict[str, Any] = {"key": _key(), "digest": _digest(body), "body": body}
    try:
        with atomic_path(_path(_folder)) as tmp:
            tmp.write_text(json.dumps(content), encoding="utf-8")
    except (OSError, OutputError):
        return
    _changed = False
