"""Reader for Nuxt page payloads: a bare ``_payload.json`` or a saved HTML page.

The page data is found by its shape (an object with ``subtopics`` whose items hold
``questions``), not by array positions or the per-page key under ``data``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem
from ..model import Difficulty, Framework, Question, Subtopic, Topic, slugify
from .devalue import UNDEF, DevalueError, unflatten

NAME = "nuxt"
SUFFIXES = (".json", ".html", ".htm", ".txt")

#: Larger files are refused before parsing so a hostile input cannot exhaust memory.
MAX_BYTES = 32 * 1024 * 1024
#: Longer texts are refused: no real question or answer is this long, and layout engines choke.
MAX_QUESTION_CHARS = 5_000
MAX_ANSWER_CHARS = 200_000
_SLUG_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _NuxtDataFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.found: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and self.found is None and ("id", "__NUXT_DATA__") in attrs:
            self.inside, self.found = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.found is not None:
            self.found.append(data)


def _payload_text(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (invalid byte at offset {exc.start}); "
                               "give a saved _payload.json or HTML page") from None
    if "\x00" in text:
        raise InputError(path, "binary data, not a Nuxt payload; give a saved _payload.json or HTML page")
    stripped = text.lstrip()
    if stripped.startswith("<"):
        finder = _NuxtDataFinder()
        finder.feed(text)
        finder.close()
        if finder.found is None:
            raise InputError(path, 'HTML page without a <script id="__NUXT_DATA__"> payload; '
                                   "save the page after it has loaded, or give its _payload.json")
        return "".join(finder.found)
    return text


def _load(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(path, f"file is {size / 1e6:.1f} MB, over the {MAX_BYTES // 2**20} MiB limit; "
                                   "split the question bank into several files")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    text = _payload_text(path, raw)
    if not text.strip():
        raise InputError(path, "empty file; give a saved _payload.json or HTML page")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} "
                               "(truncated or not a payload?)") from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply to be a question bank") from None
    try:
        return unflatten(parsed)
    except DevalueError as exc:
        raise InputError(path, f"not a valid Nuxt payload: {exc}") from None


def _walk(value: Any, seen: set[int]) -> Iterator[dict[str, Any]]:
    """Every object in the tree once (payloads may share objects), iteratively."""
    stack = [value]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        if isinstance(node, dict):
            seen.add(id(node))
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            seen.add(id(node))
            stack.extend(reversed(node))


def _is_topic_page(node: dict[str, Any]) -> bool:
    subs = node.get("subtopics")
    return isinstance(subs, list) and any(isinstance(s, dict) and "questions" in s for s in subs)


def _is_subtopic_page(node: dict[str, Any]) -> bool:
    qs = node.get("questions")
    return isinstance(qs, list) and any(isinstance(q, dict) and ("q" in q or "a" in q) for q in qs)


class _Builder:
    """Turns page objects into model pieces, collecting every problem instead of stopping."""

    def __init__(self, path: Path) -> None:
        self.file = str(path)
        self.problems: list[Problem] = []

    def problem(self, record: str, message: str) -> None:
        self.problems.append(Problem(self.file, record, message))

    def text(self, obj: Any, key: str, default: str = "") -> str:
        value = obj.get(key) if isinstance(obj, dict) else None
        return value if isinstance(value, str) else default

    def order(self, obj: dict[str, Any]) -> float | None:
        value = obj.get("order")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            return float(value)
        return None

    def slug(self, record: str, *candidates: Any) -> str:
        for candidate in candidates:
            if isinstance(candidate, str) and candidate.strip():
                slug = slugify(candidate)
                if slug:
                    return slug
        self.problem(record, "no usable slug or name; add a `slug` (letters, digits, dashes)")
        return "unnamed"

    def framework(self, page: dict[str, Any], sub: dict[str, Any]) -> Framework:
        fw = page.get("framework") if isinstance(page.get("framework"), dict) else {}
        name = self.text(fw, "name") or self.text(sub, "framework")
        slug = self.slug("framework", self.text(fw, "slug"), self.text(sub, "frameworkSlug"), name)
        return Framework(slug, name or slug, self.text(fw, "description"), self.order(fw))

    def topic(self, page: dict[str, Any], sub: dict[str, Any]) -> Topic:
        tp = page.get("topic") if isinstance(page.get("topic"), dict) else {}
        name = self.text(tp, "name") or self.text(sub, "topic")
        slug = self.slug("topic", self.text(tp, "slug"), self.text(sub, "topicSlug"), name)
        return Topic(slug, name or slug, self.text(tp, "description"), self.order(tp))

    def subtopic(self, sub: dict[str, Any], position: int) -> Subtopic:
        path = self.text(sub, "path")
        name = self.text(sub, "subtopic") or self.text(sub, "title")
        record = f"subtopic {name or path or position + 1!s}"
        slug = self.slug(record, path.rstrip("/").rsplit("/", 1)[-1] if path else "", self.text(sub, "slug"), name)
        description = self.text(sub, "seoDescription") or self.text(sub, "description")
        updated = _as_date(sub.get("updated"))
        return Subtopic(slug, name or slug, description, self.order(sub), updated, self.file)

    def questions(self, items: Any, key_prefix: str, record: str) -> list[Question]:
        if not isinstance(items, list):
            self.problem(record, "`questions` is not a list")
            return []
        out: list[Question] = []
        seen: set[str] = set()
        for n, item in enumerate(items, 1):
            where = f"{record}, question #{n}"
            if not isinstance(item, dict):
                self.problem(where, f"expected an object with id, difficulty, q and a, got {_kind(item)}")
                continue
            qid = item.get("id")
            if isinstance(qid, (int, float)) and not isinstance(qid, bool):
                qid = str(qid)
            if not isinstance(qid, str) or not qid.strip():
                self.problem(where, "missing `id`; give every question a unique id")
                continue
            qid = qid.strip()
            where = f"question {qid!r} ({key_prefix})"
            if not _SLUG_OK.match(qid):
                self.problem(where, "id must be letters, digits, '.', '_' or '-'")
                continue
            if qid in seen:
                self.problem(where, "duplicate id in this subtopic; ids must be unique within a subtopic")
                continue
            seen.add(qid)
            raw_difficulty = item.get("difficulty")
            difficulty = Difficulty.parse(raw_difficulty)
            if difficulty is None:
                shown = "missing" if raw_difficulty in (None, UNDEF) else f"unknown ({str(raw_difficulty)[:30]!r})"
                self.problem(where, f"difficulty is {shown}; use easy, medium or hard")
            q, a = item.get("q"), item.get("a")
            ok = True
            for field_name, value, limit in (("question (q)", q, MAX_QUESTION_CHARS),
                                             ("answer (a)", a, MAX_ANSWER_CHARS)):
                if value is None or value is UNDEF:
                    self.problem(where, f"{field_name} is missing; add the text")
                    ok = False
                elif not isinstance(value, str):
                    self.problem(where, f"{field_name} must be text, got {_kind(value)}")
                    ok = False
                elif not value.strip():
                    self.problem(where, f"{field_name} is empty; add the text")
                    ok = False
                elif len(value) > limit:
                    self.problem(where, f"{field_name} is {len(value):,} characters, over the {limit:,} limit; "
                                        "shorten it or split the question")
                    ok = False
            if ok and difficulty is not None:
                out.append(Question(qid, difficulty, q.strip(), a.strip(), f"{key_prefix}/{qid}", self.file))
        return out


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(value), type(value).__name__)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def read(path: Path) -> tuple[list[Framework], list[Problem]]:
    """Frameworks found in one file, and every content problem in it.

    Raises :class:`InputError` when the file is not a payload at all.
    """
    tree = _load(path)
    builder = _Builder(path)
    frameworks: list[Framework] = []
    seen: set[int] = set()
    pages = [n for n in _walk(tree, seen) if _is_topic_page(n)]
    inside_pages = {id(s) for p in pages for s in p["subtopics"] if isinstance(s, dict)}
    lone = [n for n in _walk(tree, set()) if _is_subtopic_page(n) and id(n) not in inside_pages]
    units: list[tuple[dict[str, Any], list[Any]]] = [(p, p["subtopics"]) for p in pages]
    units += [({}, [s]) for s in lone]
    if not units:
        raise InputError(path, "no questions found: expected page data with `subtopics` holding `questions`")
    for page, subs in units:
        for position, sub in enumerate(subs):
            if not isinstance(sub, dict):
                builder.problem(f"subtopic #{position + 1}", f"expected an object, got {_kind(sub)}")
                continue
            fw = builder.framework(page, sub)
            topic = builder.topic(page, sub)
            subtopic = builder.subtopic(sub, position)
            prefix = f"{fw.slug}/{topic.slug}/{subtopic.slug}"
            subtopic.questions = builder.questions(sub.get("questions"), prefix, f"subtopic {subtopic.name!r}")
            topic.subtopics.append(subtopic)
            fw.topics.append(topic)
            frameworks.append(fw)
    return frameworks, list(dict.fromkeys(builder.problems))  # one line per distinct problem
