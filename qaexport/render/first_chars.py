"""Which characters a regular expression's match can start with, read from Python's own regex parser.

``lexing`` uses it to try, at each position, only the rules that can match the character there.
The answer only ever errs on the safe side: a pattern this module does not fully understand
(case-insensitive, locale, verbose, back-references, anything unknown) may start anywhere, and so
may a pattern that can match the empty string. Only ASCII characters are told apart; every other
character counts as one class, "beyond ASCII", which a pattern may start with unless it provably
starts with ASCII literals.

``re._parser`` is CPython's documented-in-source but private parser (``sre_parse`` before 3.11); if it
is missing or changes shape, :func:`first_chars` answers None ("anywhere") and lexing is merely slower.
"""

from __future__ import annotations

import re
from typing import Any

try:
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - another Python implementation
    _c = _p = None

#: (ASCII code points a match may start with, whether it may start beyond ASCII, whether it may be empty)
First = tuple[frozenset[int], bool, bool]

_ASCII = frozenset(range(128))
_NONE: frozenset[int] = frozenset()
_CATEGORY_ESCAPES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                     "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}
_UNSUPPORTED_FLAGS = re.IGNORECASE | re.LOCALE | re.VERBOSE


def first_chars(pattern: str, flags: int) -> First | None:
    """Where a match of ``pattern`` (compiled with ``flags``) can start; None: anywhere, as far as we know."""
    if _p is None or flags & _UNSUPPORTED_FLAGS:
        return None
    try:
        parsed = _p.parse(pattern, flags)
        if parsed.state.flags & _UNSUPPORTED_FLAGS:  # e.g. a leading (?i)
            return None
        return _sequence(parsed.data, parsed.state.flags)
    except Exception:  # a parser of another shape: no knowledge, never a wrong answer
        return None


def _sequence(items: Any, flags: int) -> First | None:
    chars: set[int] = set()
    beyond = False
    for op, arg in items:
        part = _item(op, arg, flags)
        if part is None:
            return None
        chars |= part[0]
        beyond |= part[1]
        if not part[2]:
            return frozenset(chars), beyond, False
    return frozenset(chars), beyond, True


def _item(op: Any, arg: Any, flags: int) -> First | None:
    if op is _c.LITERAL:
        return (frozenset((arg,)), False, False) if arg < 128 else (_NONE, True, False)
    if op is _c.NOT_LITERAL:
        return _ASCII - {arg}, True, False
    if op is _c.ANY:
        return _ASCII, True, False
    if op is _c.IN:
        return _charset(arg, flags)
    if op is _c.BRANCH:
        chars: set[int] = set()
        beyond = empty = False
        for alternative in arg[1]:
            part = _sequence(alternative, flags)
            if part is None:
                return None
            chars |= part[0]
            beyond |= part[1]
            empty |= part[2]
        return frozenset(chars), beyond, empty
    if op is _c.SUBPATTERN:
        _group, add, remove, inner = arg
        # Scoped flags that change what a class means (case, locale, ASCII vs Unicode): not followed.
        return None if (add | remove) & (_UNSUPPORTED_FLAGS | re.ASCII | re.UNICODE) else _sequence(inner, flags)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, _high, inner = arg
        part = _sequence(inner, flags)
        return None if part is None else (part[0], part[1], part[2] or low == 0)
    if op is _c.ATOMIC_GROUP:
        return _sequence(arg, flags)
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):  # zero-width: they only narrow what follows
        return _NONE, False, True
    return None  # back-references, conditionals, anything new


def _charset(items: Any, flags: int) -> First | None:
    members: set[int] = set()
    negated = False
    for op, arg in items:
        if op is _c.NEGATE:
            negated = True
        elif op is _c.LITERAL:
            if arg < 128:
                members.add(arg)
        elif op is _c.RANGE:
            members.update(range(arg[0], min(arg[1], 127) + 1))
        elif op is _c.CATEGORY:
            escape = _CATEGORY_ESCAPES.get(getattr(arg, "name", ""))
            if escape is None:
                return None
            # The category's ASCII members under the pattern's own flags (re.ASCII changes \s, \w, \d).
            matcher = re.compile(escape, flags & re.ASCII).match
            members.update(c for c in range(128) if matcher(chr(c)))
        else:
            return None
    # Beyond ASCII: a negated set or a category surely reaches there; a literal or range may. Say yes.
    return (_ASCII - members if negated else frozenset(members)), True, False
