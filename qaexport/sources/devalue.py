"""Decoder for devalue, the serialisation Nuxt uses for ``__NUXT_DATA__`` payloads.

The payload is a flat JSON array; entries refer to each other by index, negative
numbers are sentinels, and ``["Type", ...]`` entries are typed values or Nuxt reactive
wrappers. The decoder is defensive: input is scraped from the web, so references out of
range, cycles, unknown types and absurd nesting raise :class:`DevalueError`, never a
Python error or a hang.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..limits import Expansion, ExpansionError

UNDEFINED = -1
HOLE = -2
NAN = -3
POSITIVE_INFINITY = -4
NEGATIVE_INFINITY = -5
NEGATIVE_ZERO = -6

#: Real payloads nest a dozen levels; anything this deep is hostile or broken.
MAX_DEPTH = 100


class Undefined:
    """JavaScript ``undefined``: distinct from ``null`` so validation can say "missing"."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEF = Undefined()


@dataclass(frozen=True)
class RegExp:
    source: str
    flags: str = ""


class DevalueError(ValueError):
    """The payload is not valid devalue; the message names the entry index."""


_SENTINELS: dict[int, Any] = {
    UNDEFINED: UNDEF,
    HOLE: UNDEF,  # an array hole reads as undefined, like JavaScript
    NAN: math.nan,
    POSITIVE_INFINITY: math.inf,
    NEGATIVE_INFINITY: -math.inf,
    NEGATIVE_ZERO: -0.0,
}

# Nuxt's revivers: reactivity wrappers carry their value unchanged; an empty ref holds
# "_" for undefined and "0n" for BigInt zero; a NuxtError is a plain object of fields.
_IDENTITY_WRAPPERS = {"ShallowReactive", "Reactive", "Ref", "ShallowRef", "NuxtError", "Island", "Skip"}
_EMPTY_WRAPPERS = {"EmptyRef", "EmptyShallowRef"}
_TYPED_ARRAYS = {
    "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
    "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
}


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Decoder:
    def __init__(self, values: list[Any], expansion: Expansion) -> None:
        self.values = values
        self.done: dict[int, Any] = {}
        self.active: set[int] = set()
        # Each built entry's size once expanded (text length, 1 per other value): an entry referenced twice is one
        # Python object here, but twice the questions for whatever walks the tree, so sizes add up per reference.
        self.sizes: dict[int, int] = {}
        self.expansion = expansion

    def size(self, index: Any) -> int:
        """The expanded size of a reference already followed."""
        return self.sizes.get(index, 1) if type(index) is int else 1

    def ref(self, index: Any, depth: int) -> Any:
        if type(index) is int and index in self.done:  # shared entries are common: the checks below passed once
            return self.done[index]
        if not _is_index(index):
            raise DevalueError(f"reference {index!r} is not an integer index")
        if index < 0:
            if index in _SENTINELS:
                return _SENTINELS[index]
            raise DevalueError(f"unknown negative reference {index}")
        if index >= len(self.values):
            raise DevalueError(f"reference {index} is out of range (the payload has {len(self.values)} entries)")
        if index in self.done:
            return self.done[index]
        if index in self.active:
            raise DevalueError(f"entry {index} refers back to itself (reference cycle)")
        if depth > MAX_DEPTH:
            raise DevalueError(f"nesting deeper than {MAX_DEPTH} levels at entry {index}")
        self.active.add(index)
        try:
            value = self.values[index]
            result = self.build(index, value, depth + 1)
        finally:
            self.active.discard(index)
        size = self.sizes[index] = self._expanded(value)
        self.expansion.check(size, f"entry {index}")
        self.done[index] = result
        return result

    def _expanded(self, value: Any) -> int:
        """The size of an entry whose references were all followed: its own, plus theirs, once per reference."""
        if isinstance(value, str):
            return len(value) + 1
        if isinstance(value, dict):
            return 1 + sum(len(str(k)) + self.size(v) for k, v in value.items())
        if isinstance(value, list):
            if value and isinstance(value[0], str):  # a typed entry: its arguments are references or raw values
                return len(value[0]) + sum(self.size(v) if type(v) is int else len(str(v)) for v in value[1:])
            return 1 + sum(self.size(v) for v in value)
        return 1

    def build(self, index: int, value: Any, depth: int) -> Any:
        if isinstance(value, dict):
            return {str(k): self.ref(v, depth) for k, v in value.items()}
        if not isinstance(value, list):
            return value
        if value and isinstance(value[0], str):
            return self.typed(index, value[0], value[1:], depth)
        return [self.ref(n, depth) for n in value]

    def typed(self, index: int, kind: str, args: list[Any], depth: int) -> Any:
        def arg(i: int = 0) -> Any:
            if i >= len(args):
                raise DevalueError(f"entry {index} ({kind}) is missing its value")
            return args[i]

        if kind in _IDENTITY_WRAPPERS:
            return self.ref(arg(), depth)
        if kind in _EMPTY_WRAPPERS:
            raw = self.ref(arg(), depth) if args else "_"
            return UNDEF if raw == "_" else 0 if raw == "0n" else raw
        if kind == "Date":
            return _date(arg(), index)
        if kind == "Set":
            return [self.ref(n, depth) for n in args]
        if kind == "Map":
            if len(args) % 2:
                raise DevalueError(f"entry {index} (Map) has an odd number of items")
            pairs = [(self.ref(args[i], depth), self.ref(args[i + 1], depth)) for i in range(0, len(args), 2)]
            try:
                return dict(pairs)
            except TypeError:
                return pairs
        if kind == "null":
            if len(args) % 2:
                raise DevalueError(f"entry {index} (null-prototype object) has an odd number of items")
            return {str(args[i]): self.ref(args[i + 1], depth) for i in range(0, len(args), 2)}
        if kind == "BigInt":
            try:
                return int(str(arg()))
            except ValueError:
                raise DevalueError(f"entry {index} (BigInt) is not an integer: {str(arg())[:40]!r}") from None
        if kind == "RegExp":
            return RegExp(str(arg()), str(args[1]) if len(args) > 1 else "")
        if kind in {"URL", "URLSearchParams"}:
            return str(arg())
        if kind == "Object":  # a boxed primitive: new String("x"), new Number(1)...
            return arg()
        if kind == "ArrayBuffer":
            return _b64(arg(), index)
        if kind in _TYPED_ARRAYS:
            buffer = self.ref(arg(), depth)
            return buffer if isinstance(buffer, bytes) else _b64(buffer, index)
        raise DevalueError(f"entry {index} has unknown type {kind[:40]!r}")


def _date(value: Any, index: int) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise DevalueError(f"entry {index} (Date) is not an ISO date: {str(value)[:40]!r}") from None


def _b64(value: Any, index: int) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        raise DevalueError(f"entry {index} is not valid base64") from None


def unflatten(parsed: Any, input_size: int = 0) -> Any:
    """Rebuild the value a devalue payload describes (``JSON.parse`` output in, Python out). What the references
    expand to is counted against a limit relative to ``input_size`` (the payload's length): past it,
    :class:`DevalueError`."""
    if _is_index(parsed):
        if parsed in _SENTINELS:
            return _SENTINELS[parsed]
        raise DevalueError("the payload is a bare number, not a devalue array")
    if not isinstance(parsed, list) or not parsed:
        raise DevalueError("the payload is not a devalue array (expected a non-empty JSON array)")
    try:
        return _Decoder(parsed, Expansion(input_size, "shared references repeat it")).ref(0, 0)
    except ExpansionError as exc:
        raise DevalueError(str(exc)) from None
