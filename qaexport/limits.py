"""Bounds on what untrusted text may cost, shared by every reader: checked before the work, or counted while it
happens, so that a small hostile file can never take unbounded time or memory.

- **Texts**: a question's and an answer's length, and how deeply HTML from a source nests (an HTML parser's cost
  grows with depth times length), checked by ``assemble`` for every source and by readers before they parse.
- **Expansion**: a format whose small input can stand for a huge value (shared references in a Nuxt payload, an
  Anki package's cards that each show a whole note) counts what it makes while it decodes, against a limit
  relative to the input's size (:class:`Expansion`).

Images have their own module (``formats/images.py``: types, pixels, the build's image budget), cloze deletions
theirs (``formats/cloze.py``). Every limit is a module constant, named in the README's Safety section.
"""

from __future__ import annotations

import math

MIB = 2**20


def mib(size: int) -> str:
    """A size for a message beside a limit, always in MiB (the unit of every size limit here; 35,977,823 bytes is
    "34.3 MiB"); a whole number of MiB without decimals ("32 MiB"). A size that rounds down to a whole number is
    rounded up instead: a file a byte over 32 MiB is "32.1 MiB", never "32.0 MiB, over the 32 MiB limit"."""
    if size % MIB == 0:
        return f"{size // MIB:,} MiB"
    tenths = round(size * 10 / MIB)
    if tenths % 10 == 0 and tenths * MIB < size * 10:
        tenths = math.ceil(size * 10 / MIB)
    return f"{tenths / 10:,.1f} MiB"

#: Longer texts are refused: no real question or answer is this long, and layout engines choke.
MAX_QUESTION_CHARS = 5_000
MAX_ANSWER_CHARS = 200_000

#: What decoding may make of an input: this many times its size, and at least :data:`EXPANSION_FLOOR` characters.
EXPANSION_RATIO = 8
EXPANSION_FLOOR = 32 * 2**20

#: Nesting of elements in HTML from a source (Anki cards): an HTML parser checks scopes along the open elements, so
#: every level costs each tag after it (sanitising 10,000 nested ``<div>`` took 0.4 s, 40,000 took 7 s).
MAX_HTML_NESTING = 100
_VOID_ELEMENTS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                            "source", "track", "wbr"})
#: Elements whose end tag may be left out (a new one closes the last): counted as not nesting.
_IMPLIED_END = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "tbody", "thead", "tfoot", "option", "optgroup",
                          "rp", "rt", "colgroup", "caption"})


def html_nesting(text: str, stop: int = MAX_HTML_NESTING) -> int:
    """How deeply the elements of an HTML text nest, counted in one pass over its tags (void elements and those
    whose end tag is implied do not count); counting ends once past ``stop``."""
    depth = deepest = 0
    pos = text.find("<")
    while pos != -1 and deepest <= stop:
        if text.startswith("<!--", pos):
            close = text.find("-->", pos + 4)
            pos = -1 if close == -1 else text.find("<", close + 3)
            continue
        closing = text.startswith("/", pos + 1)
        start = pos + 1 + closing
        end = start
        while end < len(text) and (text[end].isalnum() or text[end] == "-"):
            end += 1
        name = text[start:end].lower()
        if name and name[0].isalpha() and name not in _VOID_ELEMENTS and name not in _IMPLIED_END:
            if closing:
                depth = max(0, depth - 1)
            else:  # ``<div/>`` opens a div in HTML: the slash means nothing there
                depth += 1
                deepest = max(deepest, depth)
        pos = text.find("<", end)
    return deepest


class ExpansionError(ValueError):
    """Decoding an input would make far more than the input holds (shared references, a "billion laughs")."""


class Expansion:
    """A count of what decoding one input makes, refused past ``ratio`` times the input's size (and at least
    ``floor``): a real file expands little, a hostile one by orders of magnitude."""

    def __init__(self, input_size: int, why: str = "", ratio: int | None = None, floor: int | None = None) -> None:
        self.ratio = EXPANSION_RATIO if ratio is None else ratio
        self.limit = max(EXPANSION_FLOOR if floor is None else floor, self.ratio * input_size)
        self.why = why
        self.total = 0

    def check(self, size: int, what: str) -> None:
        """Raise :class:`ExpansionError` if one value of ``size`` (``what`` names it) is over the limit."""
        if size > self.limit:
            why = f" ({self.why})" if self.why else ""
            raise ExpansionError(f"{what} expands to more than {self.limit:,} characters{why}, over "
                                 f"{self.ratio} times the input's size; refusing to expand it")

    def add(self, size: int, what: str) -> None:
        """Count ``size`` more made; raise :class:`ExpansionError` once the total is over the limit."""
        self.total += size
        self.check(self.total, what)
