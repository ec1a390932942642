"""Anki packages as files: the suffixes that name them, qaexport's own note type, and the bank a qaexport deck
carries so that it reads back exactly.

A note stores rendered HTML, and deck names are cleaned for Anki, so a deck alone cannot give back the Markdown it
was made from. Every package ``qaexport anki`` writes therefore also holds ``qaexport-bank.json``: the library it
was built from (names, slugs, orders and descriptions of every level; each question's id, key, ``from=`` origin,
difficulty, format and source texts). Anki's importers read only the collection, ``meta``, the media map and the
media files, so the extra member changes nothing for a learner; ``qaexport pdf deck.apkg`` and ``qaexport convert
deck.apkg`` read the bank from it, so ``anki`` → ``convert`` gives back the bank byte for byte and ``anki`` of
that gives the same notes. A package exported again from Anki has no such member: its qaexport notes are then read
from their fields (the Key field, ``formats/anki_key``, gives slugs, id and origin; Difficulty the difficulty;
Question and Answer the HTML).

The member is untrusted input like everything in a package: size-capped, strictly typed, and used only when its
Key fields are exactly those of the qaexport notes in the package's collection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..limits import mib

#: ``.apkg`` (a deck) and ``.colpkg`` (a whole collection).
SUFFIXES = (".apkg", ".colpkg")

#: qaexport's note type, frozen: learners' collections hold notes of it (see ``exporters/anki/identity``).
MODEL_ID = 1607392319
FIELDS = ("Question", "Answer", "Difficulty", "Source", "Key")
#: ... and its Cloze note type, for questions with cloze deletions.
CLOZE_MODEL_ID = 1736145023
CLOZE_FIELDS = ("Text", "Back Extra", "Difficulty", "Source", "Key")

#: The zip member holding the bank a qaexport deck was built from.
BANK_MEMBER = "qaexport-bank.json"
BANK_VERSION = 1
#: Larger members are ignored, the notes read instead (a deck of 50,000 questions carries some 35 MiB). The member
#: is parsed whole, so its size bounds the parse's memory: a real bank is long texts (a few objects per question),
#: but a hostile one of tiny values (``[{},{},…]``) makes some 26 bytes of objects per byte of JSON.
MAX_BANK_BYTES = 48 * 2**20
#: So in a bank over ``DENSE_FROM`` bytes, at most one object or array per ``BYTES_PER_CONTAINER`` bytes and one
#: value (a comma or a container) per ``BYTES_PER_VALUE`` bytes: the densest real bank (one-letter questions and
#: answers) has one container per ~68 bytes and one value per ~12; the worst that passes (``["abcd",…]``) peaks at
#: some 600 MiB for 48 MiB (``[{},…]`` would take 1.3 GiB, 6.7 GiB at 256 MiB).
DENSE_FROM = 2**20
BYTES_PER_CONTAINER = 32
BYTES_PER_VALUE = 6

LEVELS = ("frameworks", "topics", "subtopics")
_NODE_FIELDS = ("slug", "name", "description", "order")
_QUESTION_FIELDS = ("id", "key", "origin", "difficulty", "format", "cloze", "question", "answer")


@dataclass
class BankNode:
    """A framework, topic or subtopic as the deck's bank gives it."""

    slug: str
    name: str
    description: str = ""
    order: float | None = None
    children: list[BankNode] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)  # the texts by name, and "images": {ref: name}


def bank_json(frameworks: Iterable[Any], cover: tuple[str, str] | None = None) -> bytes:
    """The bank member for a library's frameworks (model objects) and cover image (media name, alt text), in
    library order; deterministic bytes."""

    def node(item: Any, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {"slug": item.slug, "name": item.name, "description": item.description,
                               "order": item.order}
        if depth < 2:
            out[LEVELS[depth + 1]] = [node(child, depth + 1) for child in
                                      (item.topics if depth == 0 else item.subtopics)]
        else:
            out["questions"] = [{"id": q.id, "key": q.key, "origin": q.origin or "",
                                 "difficulty": q.difficulty.label if q.difficulty else "",
                                 "format": q.format.value, "cloze": "yes" if q.cloze else "",
                                 "question": q.question, "answer": q.answer, "images": q.images}
                                for q in item.questions]
        return out

    data = {"qaexport": BANK_VERSION, "frameworks": [node(fw, 0) for fw in frameworks],
            "cover": list(cover) if cover else None}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class BankError(ValueError):
    """The member is not a bank this version can read (the reason, for a warning)."""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BankError(f"{what} is not text")
    return value


def _node(raw: Any, depth: int) -> BankNode:
    if not isinstance(raw, dict):
        raise BankError(f"a {LEVELS[depth][:-1]} is not an object")
    order = raw.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, float)) or order != order):
        raise BankError(f"a {LEVELS[depth][:-1]}'s order is not a number")
    node = BankNode(_text(raw.get("slug"), "a slug"), _text(raw.get("name"), "a name"),
                    _text(raw.get("description", ""), "a description"), None if order is None else float(order))
    if depth < 2:
        children = raw.get(LEVELS[depth + 1])
        if not isinstance(children, list):
            raise BankError(f"a {LEVELS[depth][:-1]} has no list of {LEVELS[depth + 1]}")
        node.children = [_node(child, depth + 1) for child in children]
    else:
        questions = raw.get("questions")
        if not isinstance(questions, list):
            raise BankError("a subtopic has no list of questions")
        for q in questions:
            if not isinstance(q, dict):
                raise BankError("a question is not an object")
            read: dict[str, Any] = {name: _text(q.get(name), f"a question's {name}") for name in _QUESTION_FIELDS}
            images = q.get("images")
            if not isinstance(images, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in images.items()):
                raise BankError("a question's images are not a table of names")
            read["images"] = images
            node.questions.append(read)
    return node


@dataclass
class Bank:
    frameworks: list[BankNode]
    cover: tuple[str, str] | None = None  # the books' cover image: media name, alt text


def refuse_dense(data: bytes, what: str) -> None:
    """:class:`BankError` when JSON over ``DENSE_FROM`` bytes holds more containers or values than any real bank
    (or deck originals) of its size: parsed, tiny values cost some 26 bytes of objects per byte. Counted before
    parsing (``bytes.count`` is one pass in C)."""
    if len(data) > DENSE_FROM:
        containers = data.count(b"{") + data.count(b"[")
        values = containers + data.count(b",")
        if containers * BYTES_PER_CONTAINER > len(data) or values * BYTES_PER_VALUE > len(data):
            raise BankError(f"{mib(len(data))} of JSON holding too many small values to be {what} (a JSON "
                            "bomb?); refusing to parse it")


def read_bank(data: bytes) -> Bank:
    """The frameworks and cover of a bank member; :class:`BankError` when it is not one this version reads."""
    refuse_dense(data, "a bank")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BankError(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or raw.get("qaexport") != BANK_VERSION:
        raise BankError("not a qaexport bank of a version this qaexport reads")
    frameworks = raw.get("frameworks")
    if not isinstance(frameworks, list):
        raise BankError("no list of frameworks")
    cover = raw.get("cover")
    if cover is not None and not (isinstance(cover, list) and len(cover) == 2 and all(isinstance(c, str)
                                                                                      for c in cover)):
        raise BankError("the cover is not a media name and a text")
    return Bank([_node(fw, 0) for fw in frameworks], (cover[0], cover[1]) if cover else None)


# ---------------------------------------------------------------------------------------------- originals
#
# The bank member above does not survive Anki: a learner's deck exported again from Anki holds only its collection
# and media. What a deck must keep to give a hand-written bank back byte for byte therefore lives in the collection,
# in the one place Anki keeps through its own import and export and shows nobody: a comment at the end of a deck's
# description (Anki drops unknown deck keys on import; a description it keeps, and an import updates it). A deck
# holds the originals of the bank files whose first note is in it: each file's own text (spacing, comments, field
# order, BOM and line ends as written), the images it names, and for each of its notes, in file order, the note's
# GUID, its question key and a content key of the fields qaexport wrote. ``convert`` gives a file's own bytes back
# only while every one of its notes still has that content key; a learner's edit, or a note deleted, makes it write
# the canonical form from the notes, with a line naming what changed, so an edit is never lost nor overwritten.

ORIGINALS_OPEN = "<!--qaexport-originals:"
ORIGINALS_CLOSE = "-->"
ORIGINALS_VERSION = 1
#: One deck's originals, as uncompressed JSON; larger ones are not written (a warning) nor read. Bank files are at
#: most 32 MiB each (``sources/markdown``); real ones are far smaller, and the comment is a zlib'd tenth of this.
MAX_ORIGINALS_BYTES = 32 * 2**20
_ORIGINALS = re.compile(re.escape(ORIGINALS_OPEN) + r"([A-Za-z0-9+/=]*)" + re.escape(ORIGINALS_CLOSE) + r"\s*\Z")
_SAFE_PART = re.compile(r"[^\x00-\x1f\x7f\\:*?\"<>|]+")


def content_key(fields: Iterable[str]) -> str:
    """What a note held when it was exported: its fields as Anki stores them (joined by 0x1F), hashed."""
    return hashlib.sha256("\x1f".join(fields).encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class OriginalFile:
    """A bank file as a deck carries it (see above): notes are (GUID, question key, content key), in file order."""

    name: str
    data: bytes
    notes: list[tuple[str, str, str]]
    images: dict[str, str] = field(default_factory=dict)
    #: The bytes of images it names that no note shows (the cover): Anki exports only the media notes show.
    media: dict[str, bytes] = field(default_factory=dict)


def originals_comment(files: list[OriginalFile]) -> str | None:
    """The comment that carries ``files`` in a deck description (deterministic), or None when it is too large."""
    data = json.dumps({"qaexport-originals": ORIGINALS_VERSION,
                       "files": [{"name": f.name, "text": f.data.decode("utf-8"), "notes": [list(n) for n in f.notes],
                                  "images": f.images,
                                  "media": {name: base64.b64encode(data).decode("ascii")
                                            for name, data in sorted(f.media.items())}} for f in files]},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_ORIGINALS_BYTES:
        return None
    return ORIGINALS_OPEN + base64.b64encode(zlib.compress(data, 9)).decode("ascii") + ORIGINALS_CLOSE


def split_originals(description: str) -> tuple[str, str | None]:
    """A deck description without its originals comment, and the comment's payload (None when it has none)."""
    start = description.rfind(ORIGINALS_OPEN)
    if start < 0:
        return description, None
    found = _ORIGINALS.match(description, start)
    if found is None:
        return description, None
    return description[:start], found.group(1)


def safe_bank_path(name: str) -> bool:
    """A relative ``/``-separated path that stays inside the folder it is written to (untrusted: from a deck)."""
    parts = name.split("/")
    return 0 < len(name) <= 1024 and all(part not in ("", ".", "..") and _SAFE_PART.fullmatch(part)
                                         for part in parts)


def read_originals(payload: str) -> list[OriginalFile]:
    """The files of a deck's originals comment (untrusted: bounded before and while it inflates, strictly typed,
    paths that stay inside the bank folder); :class:`BankError` when it is not one this version reads."""
    if len(payload) > MAX_ORIGINALS_BYTES:
        raise BankError("the originals are too large")
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.b64decode(payload, validate=True), MAX_ORIGINALS_BYTES + 1)
    except (ValueError, zlib.error) as exc:
        raise BankError(f"the originals are not readable ({type(exc).__name__})") from None
    if len(data) > MAX_ORIGINALS_BYTES or inflater.unconsumed_tail:
        raise BankError("the originals inflate beyond their limit")
    # a small zlib'd payload of ``[[],[],…]`` would parse into hundreds of MiB of lists
    refuse_dense(data, "a deck's originals")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BankError(f"the originals are not JSON ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or raw.get("qaexport-originals") != ORIGINALS_VERSION \
            or not isinstance(raw.get("files"), list):
        raise BankError("not qaexport originals of a version this qaexport reads")
    files = []
    for item in raw["files"]:
        if not isinstance(item, dict):
            raise BankError("a file is not an object")
        name, text, notes, images = item.get("name"), item.get("text"), item.get("notes"), item.get("images")
        media = item.get("media", {})
        if not isinstance(name, str) or not safe_bank_path(name) or not isinstance(text, str):
            raise BankError("a file has no safe name or no text")
        if not isinstance(notes, list) or not all(isinstance(n, list) and len(n) == 3 and all(isinstance(v, str)
                                                                                          for v in n) for n in notes):
            raise BankError("a file's notes are not (GUID, key, content key) triples")
        if not isinstance(images, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in images.items()):
            raise BankError("a file's images are not a table of names")
        if not isinstance(media, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in media.items()):
            raise BankError("a file's media are not a table of images")
        try:
            data = text.encode("utf-8")
            pictures = {k: base64.b64decode(v, validate=True) for k, v in media.items()}
        except (UnicodeEncodeError, ValueError):
            raise BankError("a file's text or media are not what they claim to be") from None
        files.append(OriginalFile(name, data, [(g, k, c) for g, k, c in notes], images, pictures))
    return files
