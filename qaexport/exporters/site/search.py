"""The site's search index: built once with the pages, read by ``assets/site.js`` with no server.

Why not a search library such as Pagefind: its index is fetched with ``fetch()`` and run in WebAssembly, and
browsers refuse both to a page opened from ``file://`` (Pagefind issue #241), where this site must work. The
index is instead one script file (``<script src>`` loads from ``file://``): every word of every question and
answer, lower-cased and NFC-normalised, with the questions it occurs in. The page looks words up by prefix
with a binary search over the sorted word list, so a bank of thousands of questions answers as you type.

Words are runs of Unicode letters, digits and ``_`` — Python's ``\\w`` here, ``[\\p{L}\\p{N}_]`` in the page —
so both sides cut text the same way. The texts are plain text made from the rendered HTML, so what is found
is what the page shows (code included).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_BLOCK_TAG = re.compile(r"</?(?:p|li|h[1-6]|pre|br|tr|td|th|div|blockquote|ul|ol|dl|dt|dd|table|hr)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")
#: Longer runs (hashes, minified code) are not words anyone types; they would only grow the index.
MAX_WORD = 40
#: Characters of each question kept to show in the results.
SHOWN_CHARS = 300


def plain_text(rendered_html: str) -> str:
    """The text a reader sees in the renderer's HTML: tags dropped (blocks leave a space), entities decoded."""
    return " ".join(html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", rendered_html))).split())


def words(text: str) -> set[str]:
    """The distinct words of ``text`` as the page's search box cuts them."""
    return {w for w in _WORD.findall(unicodedata.normalize("NFC", text).lower()) if len(w) <= MAX_WORD}


@dataclass(frozen=True)
class Entry:
    """One question as the index holds it."""

    page: int  # index into the pages list
    id: str  # the question's id: its anchor is ``q-<id>``
    question: str  # plain text of the question, shortened
    answer: str  # plain text of the answer (only its words are kept)
    difficulty: str  # easy, medium, hard or unrated


@dataclass(frozen=True)
class PageInfo:
    path: str  # relative to the site root
    key: str  # framework/topic/subtopic: the prefix of its questions' keys
    title: str  # the breadcrumb a result shows


def index_script(pages: list[PageInfo], entries: Iterable[Entry]) -> bytes:
    """``assets/search-index.js``: ``window.qaexportIndex = {pages, docs, terms, postings}``.

    ``docs[i] = [page, id, question text, difficulty]``; ``terms`` sorted; ``postings[j]`` the docs holding
    ``terms[j]``, ascending. The JSON has ``<`` escaped and is in a file of its own, so no text can end it.
    """
    docs: list[list[object]] = []
    postings: dict[str, list[int]] = {}
    for number, entry in enumerate(entries):
        shown = entry.question if len(entry.question) <= SHOWN_CHARS else entry.question[:SHOWN_CHARS - 1] + "…"
        docs.append([entry.page, entry.id, shown, entry.difficulty])
        for word in sorted(words(entry.question) | words(entry.answer)):
            postings.setdefault(word, []).append(number)
    terms = sorted(postings)
    data = {"pages": [[p.path, p.key, p.title] for p in pages], "docs": docs, "terms": terms,
            "postings": [postings[t] for t in terms]}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.qaexportIndex = {text};\n".encode()
