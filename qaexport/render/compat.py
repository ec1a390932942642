"""CPython's regular-expression internals, reached here only: a pattern's compiled code, taken and given back.

``re.compile`` parses a pattern and compiles it to the engine's code in Python (``re._parser``, ``re._compiler``),
then hands the code to the C engine (``_sre.compile``). For the joined lexer patterns of :mod:`.lexing` that is
~0.5 ms each, ~30 ms for the 60 a Python-heavy book needs, paid in every run before any code is lexed; the engine
builds the same pattern from its code in ~15 µs. :func:`compile_keeping_code` is ``re._compiler.compile`` (the same
steps, unchanged from 3.11 to 3.13) keeping the code; :func:`from_code` gives the pattern back from it.

The engine checks the code it is given (``_sre`` validates every code array and refuses a malformed one with an
exception), so a damaged store costs a compile, never a crash. Outside :data:`TESTED_PYTHONS`, or on another
interpreter, nothing is kept: :func:`compile_keeping_code` is ``re.compile`` and :func:`from_code` gives None.
tests/test_patterns.py compares what both give with ``re.compile`` (a pattern's equality covers its code).
"""

from __future__ import annotations

import array
import re
import sys
from dataclasses import dataclass

try:
    import _sre
    from re import _compiler, _parser
except ImportError:  # pragma: no cover - another Python implementation
    _sre = _compiler = _parser = None

#: The Python releases (major, minor), first and last, whose ``re._compiler.compile`` this module mirrors.
TESTED_PYTHONS = ((3, 11), (3, 13))


def supported(version: tuple[int, ...] | None = None) -> bool:
    """Whether this interpreter (or CPython ``version``) is one whose compiler this module mirrors."""
    version = sys.version_info[:2] if version is None else version[:2]
    return (_sre is not None and sys.implementation.name == "cpython"
            and TESTED_PYTHONS[0] <= version <= TESTED_PYTHONS[1] and array.array("I").itemsize == _sre.CODESIZE)


SUPPORTED = supported()


@dataclass(frozen=True)
class Code:
    """What the engine needs besides the pattern's text: its flags as compiled, its code (``_sre.CODESIZE`` bytes a
    word, native order), its group count and its named groups."""

    flags: int
    code: bytes
    groups: int
    names: tuple[tuple[str, int], ...]


def compile_keeping_code(text: str, flags: int) -> tuple[re.Pattern[str], Code | None]:
    """``re.compile(text, flags)`` and its :class:`Code` (None where this module does not mirror the compiler)."""
    if not SUPPORTED:
        return re.compile(text, flags), None
    parsed = _parser.parse(text, flags)
    code = _compiler._code(parsed, flags)
    names = parsed.state.groupdict
    index_names: list[str | None] = [None] * parsed.state.groups
    for name, index in names.items():
        index_names[index] = name
    final = flags | parsed.state.flags
    pattern = _sre.compile(text, final, code, parsed.state.groups - 1, names, tuple(index_names))
    return pattern, Code(final, array.array("I", code).tobytes(), parsed.state.groups - 1,
                         tuple(sorted(names.items(), key=lambda kv: kv[1])))


def from_code(text: str, code: Code) -> re.Pattern[str] | None:
    """The pattern ``text`` from its :class:`Code`; None where that cannot be done (another interpreter, a code the
    engine refuses)."""
    if not SUPPORTED:
        return None
    words = array.array("I")
    try:
        words.frombytes(code.code)
        names = dict(code.names)
        index_names: list[str | None] = [None] * (code.groups + 1)
        for name, index in code.names:
            index_names[index] = name
        return _sre.compile(text, code.flags, words.tolist(), code.groups, names, tuple(index_names))
    except (RuntimeError, ValueError, TypeError, IndexError, OverflowError, MemoryError):
        return None
