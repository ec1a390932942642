"""Reader for Nuxt page payloads: a bare ``_payload.json`` or a saved HTML page.

The page data is found by its shape (an object with ``subtopics`` whose items hold
``questions``), not by array positions or the per-page key under ``data``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ..errors import InputError, Problem, problem
from ..model import Location, slugify
from ..records import Node, QuestionRecord, ReadResult, SubtopicRecord
from . import SourceBase
from .devalue import UNDEF, DevalueError, unflatten
from .files import read_limited

#: Larger files are refused before parsing so a hostile input cannot exhaust memory.
MAX_BYTES = 32 * 1024 * 1024


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
    raw = read_limited(path, MAX_BYTES, "question bank")
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
        # Only objects and lists go on the stack: a payload is mostly strings, which hold nothing to visit.
        if isinstance(node, dict):
            seen.add(id(node))
            yield node
            stack.extend([child for child in reversed(node.values()) if isinstance(child, (dict, list))])
        elif isinstance(node, list):
            seen.add(id(node))
            stack.extend([child for child in reversed(node) if isinstance(child, (dict, list))])


def _is_topic_page(node: dict[str, Any]) -> bool:
    subs = node.get("subtopics")
    return isinstance(subs, list) and any(isinstance(s, dict) and "questions" in s for s in subs)


def _is_subtopic_page(node: dict[str, Any]) -> bool:
    qs = node.get("questions")
    return isinstance(qs, list) and any(isinstance(q, dict) and ("q" in q or "a" in q) for q in qs)


def _text(obj: Any, key: str) -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value.strip() if isinstance(value, str) else ""


def _order(obj: Any) -> float | None:
    value = obj.get("order") if isinstance(obj, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


def _first(*candidates: str) -> str:
    return next((c for c in candidates if slugify(c)), "")


def _raw(value: Any) -> Any:
    """JavaScript ``undefined`` reads as "not given"."""
    return None if value is UNDEF else value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(value), type(value).__name__)


def _subtopic_record(file: str, page: dict[str, Any], sub: dict[str, Any], position: int,
                     problems: list[Problem]) -> SubtopicRecord:
    fw = page.get("framework") if isinstance(page.get("framework"), dict) else {}
    tp = page.get("topic") if isinstance(page.get("topic"), dict) else {}
    fw_name = _text(fw, "name") or _text(sub, "framework")
    tp_name = _text(tp, "name") or _text(sub, "topic")
    path = _text(sub, "path")
    name = _text(sub, "subtopic") or _text(sub, "title")
    label = f"subtopic {name or path or position + 1!s}"
    framework = Node(fw_name, _first(_text(fw, "slug"), _text(sub, "frameworkSlug"), fw_name),
                     _text(fw, "description"), _order(fw))
    topic = Node(tp_name, _first(_text(tp, "slug"), _text(sub, "topicSlug"), tp_name),
                 _text(tp, "description"), _order(tp))
    subtopic = Node(name, _first(path.rstrip("/").rsplit("/", 1)[-1] if path else "", _text(sub, "slug"), name),
                    _text(sub, "seoDescription") or _text(sub, "description"), _order(sub))
    record = SubtopicRecord(framework, topic, subtopic, [], Location(file, None, label))
    items = sub.get("questions")
    where = f"subtopic {name!r}"
    if not isinstance(items, list):
        problems.append(problem(file, "`questions` is not a list", f"subtopic {name!r}"))
        return record
    for n, item in enumerate(items, 1):
        loc = Location(file, None, f"{where}, question #{n}")
        if not isinstance(item, dict):
            problems.append(Problem(loc, f"expected an object with id, difficulty, q and a, got {_kind(item)}"))
            continue
        qid = _raw(item.get("id"))
        record.questions.append(QuestionRecord(
            "" if qid is None else qid,  # payload questions always carry an id: a missing one is an error
            _raw(item.get("difficulty")), _raw(item.get("q")), _raw(item.get("a")), loc))
    return record


class NuxtReader(SourceBase):
    """Nuxt page payloads (``__NUXT_DATA__``): a saved ``_payload.json`` or the saved HTML page."""

    name = "nuxt"
    suffixes = (".json", ".html", ".htm", ".txt")
    description = "Nuxt page payloads: _payload.json or a saved HTML page"

    def sniff(self, head: bytes) -> bool:
        """A JSON payload or an HTML page (whose payload script may come after the first 4 KiB)."""
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{", b"<")

    def read(self, path: Path) -> ReadResult:
        """Subtopic records found in one file; :class:`InputError` when the file is not a payload at all."""
        tree = _load(path)
        file = str(path)
        nodes = list(_walk(tree, set()))
        pages = [n for n in nodes if _is_topic_page(n)]
        inside_pages = {id(s) for p in pages for s in p["subtopics"] if isinstance(s, dict)}
        lone = [n for n in nodes if _is_subtopic_page(n) and id(n) not in inside_pages]
        units: list[tuple[dict[str, Any], list[Any]]] = [(p, p["subtopics"]) for p in pages]
        units += [({}, [s]) for s in lone]
        if not units:
            raise InputError(path, "no questions found: expected page data with `subtopics` holding `questions`")
        result = ReadResult()
        for page, subs in units:
            for position, sub in enumerate(subs):
                if not isinstance(sub, dict):
                    result.problems.append(problem(file, f"expected an object, got {_kind(sub)}",
                                                   f"subtopic #{position + 1}"))
                    continue
                result.subtopics.append(_subtopic_record(file, page, sub, position, result.problems))
        return result
