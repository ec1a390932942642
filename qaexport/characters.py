"""The one place that decides which characters of untrusted text survive: every name and text a source gives passes
here once (in ``assemble``), so every output shows the same thing.

Dropped everywhere: characters that reorder or hide text (bidi embeddings, overrides and isolates; zero-width
space, word joiner, byte-order mark), control characters (C0 but tab and line ends, DEL, C1), Unicode
noncharacters (``U+FFFE``, ``U+FFFF``, ``U+FDD0``–``U+FDEF``...), which XML forbids or renderers show as nothing.
A lone surrogate (a broken UTF-16 escape in JSON) becomes ``U+FFFD``, the replacement character. Joiners that
spell words (ZWJ, ZWNJ) and the left/right marks stay: scripts and emoji need them.

Names (frameworks, topics, subtopics, titles) also lose line breaks and tabs and have their white space collapsed:
a name is one line in an outline, a nav list, a deck or a terminal.
"""

from __future__ import annotations

import re

_HIDING = "\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff"
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17))
_DROPPED = re.compile(f"[{_HIDING}{_CONTROLS}{_NONCHARACTERS}]")
# The same class, split for speed (the regex engine tries a class's 32 astral noncharacters one by one at every
# character: ~36 ns a character, four fifths of cleaning a 560-question bank's texts): what ASCII text can hold,
# what the Basic Multilingual Plane can, and the whole class only for text reaching beyond it (a fast range search).
_DROPPED_ASCII = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DROPPED_BMP = re.compile(f"[{_HIDING}{_CONTROLS}{_NONCHARACTERS[:5]}]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME_SPACE = re.compile(r"[\s\u2028\u2029]+")


def clean_text(text: str) -> str:
    """A question's or answer's text as every output shows it: hiding, control and noncharacters dropped, lone
    surrogates replaced, Unicode's line and paragraph separators made line breaks (no font draws them);
    everything else as written."""
    if text.isascii():
        return _DROPPED_ASCII.sub("", text) if not text.isprintable() else text
    text = _SURROGATE.sub("\ufffd", _dropped(text))
    return text.replace("\u2028", "\n").replace("\u2029", "\n\n") if "\u2028" in text or "\u2029" in text else text


def _dropped(text: str) -> str:
    """``_DROPPED.sub("", text)``: a tenth of the time for text within the Basic Multilingual Plane."""
    text = _DROPPED_BMP.sub("", text)
    return _DROPPED.sub("", text) if _ASTRAL.search(text) else text


def clean_name(name: str) -> str:
    """A name as every output shows it: :func:`clean_text`, on one line, white space collapsed."""
    return _NAME_SPACE.sub(" ", clean_text(name)).strip()
