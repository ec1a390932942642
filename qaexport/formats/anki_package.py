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

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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
#: Larger members are ignored (a deck's texts are limited far below this by the assembler's text limits).
MAX_BANK_BYTES = 256 * 2**20

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


def read_bank(data: bytes) -> Bank:
    """The frameworks and cover of a bank member; :class:`BankError` when it is not one this version reads."""
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
