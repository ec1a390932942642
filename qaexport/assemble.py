"""Records → library: the one place for identity, validation and merging.

Every reader's records go through here, so the rules are the same for every source:
slugs, ids, text limits, duplicates, the stable key ``framework/topic/subtopic/id``, and
merging by slug across files (``order`` fields first, then input order).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Iterable

from .characters import clean_name, clean_text
from .errors import Problem, shown
from .formats.dialect import TOO_DEEP_MESSAGE, too_deep
from .formats.images import ImageBudget
from .limits import MAX_ANSWER_CHARS, MAX_HTML_NESTING, MAX_QUESTION_CHARS, html_nesting
from .model import (
    ID_PATTERN,
    MAX_ID_CHARS,
    BankFile,
    ContentFormat,
    Difficulty,
    Framework,
    Library,
    Location,
    Media,
    Question,
    Restored,
    Subtopic,
    Topic,
    is_key,
    slugify,
)
from .records import Node, QuestionRecord, ReadResult, SubtopicRecord

ID_RULE = re.compile(rf"^{ID_PATTERN}$")
#: A name YAML reads as itself inside ``{name: …, slug: …}``; any other is shown quoted (JSON is YAML).
_PLAIN_YAML = re.compile(r"[A-Za-z0-9][\w .()+&/-]*")
_DERIVED_ID_CHARS = 60
_LEVELS = ("framework", "topic", "subtopic")


def derive_id(question: str) -> str:
    """An id from the question text (for banks that give none): readable, and stable while the text is."""
    slug = slugify(question)
    if len(slug) > _DERIVED_ID_CHARS:
        slug = slug[:_DERIVED_ID_CHARS].rsplit("-", 1)[0]
    return slug or "q-" + hashlib.sha256(question.encode()).hexdigest()[:10]


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(value), type(value).__name__)


def _order(a: object) -> float:
    order = getattr(a, "order", None)
    return order if order is not None else math.inf


class _Assembler:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.frameworks: dict[str, Framework] = {}
        self.owner: dict[str, Question] = {}
        self.identities: dict[str, Question] = {}  # identity (a moved question's from=, else its key) → question
        self.media: dict[str, Media] = {}
        self.images = ImageBudget()
        self.cover: tuple[str, str] | None = None
        self.bank_files: dict[str, BankFile] = {}
        self.restored: list[Restored] = []
        # slugs so far → (name, where, whether the slug was derived from the name), for clashes
        self.places: dict[tuple[str, ...], tuple[str, Location, bool]] = {}
        self.unpinned: dict[tuple[str, ...], tuple[Location, str]] = {}  # places without a slug: a warning each

    def problem(self, location: Location, message: str, record: str | None = None) -> None:
        if record is not None:
            location = Location(location.file, location.line, record)
        self.problems.append(Problem(location, message))

    def add_media(self, media: Media, result: ReadResult) -> None:
        """An image, within the build's budget for all images (each reader checked it alone); one over the budget
        is not shown (the sanitiser drops an ``<img>`` whose name is not in the library), with a warning."""
        if media.name in self.media:
            return
        full = self.images.admit(len(media.data), media.pixels)
        if full:
            where = next((s.location.file for s in result.subtopics), "")
            self.warnings.append(Problem(Location(where), f"image {media.name} skipped: {full}"))
            return
        self.media[media.name] = media

    def slug(self, node: Node, what: str, location: Location) -> str | None:
        slug = slugify(node.slug) or slugify(node.name)
        if not slug:
            self.problem(location, "no usable slug or name; add a `slug` (letters, digits, dashes)", what)
        return slug or None

    def clashes(self, level: str, place: tuple[str, ...], node: Node, loc: Location) -> bool:
        """Whether ``node`` takes the slug of another of a different name, one of the two slugs derived from its
        name ("C++" and "C#" both give ``c``): merged, the second would silently join the first. A problem naming
        both. Derived slugs are never changed (a slug is part of every note's identity): the author gives one a
        ``slug``. Names equal but for case and spaces, or slugs both given, are one place (merged)."""
        where = Location(loc.file, node.line or loc.line)
        derived = slugify(node.slug) != node.slug if node.slug else True
        seen = self.places.setdefault(place, (node.name, where, derived))
        if seen[0] == node.name or (not derived and not seen[2]) or _same_name(seen[0], node.name):
            return False
        name = node.name if isinstance(node.name, str) else ""
        self.problem(where, f"{level} {shown(name)} gets the slug {place[-1]!r}, as does {level} {shown(seen[0])} at "
                            f"{seen[1]}: two {level}s would be one (and share their questions' keys); give one of "
                            f"them its own `slug` ({level}: {{name: {shown(name)}, slug: ...}})")
        return True

    def warn_unpinned(self, level: str, node: Node, path: tuple[str, ...], loc: Location) -> None:
        """A place named without a slug gets its slug from its name, and every key under it (each Anki note's
        GUID) from that: renaming it would make new notes, the learners' reviews staying on the old ones. Said once
        per place, by ``validate``, with the line that pins it (an existing bank keeps its keys)."""
        if not node.unpinned or path in self.unpinned:
            return
        slug = path[-1]
        name = node.name if _PLAIN_YAML.fullmatch(node.name) else json.dumps(node.name, ensure_ascii=False)
        self.unpinned[path] = (
            Location(loc.file, node.line, f"{level} {node.name!r}"),
            f"no `slug`: derived from the name, so renaming the {level} changes the key of every question under it "
            f"(Anki imports them as new notes; reviews stay on the old ones); pin it: "
            f"`{level}: {{name: {name}, slug: {slug}}}`")

    def add(self, record: SubtopicRecord) -> None:
        loc = record.location
        record = dataclasses.replace(record, framework=_clean(record.framework), topic=_clean(record.topic),
                                     subtopic=_clean(record.subtopic))
        fw_slug = self.slug(record.framework, "framework", loc)
        topic_slug = self.slug(record.topic, "topic", loc)
        sub_slug = self.slug(record.subtopic, loc.record or "subtopic", loc)
        clash = False
        if fw_slug and topic_slug and sub_slug:
            places = ((fw_slug,), (fw_slug, topic_slug), (fw_slug, topic_slug, sub_slug))
            nodes = (record.framework, record.topic, record.subtopic)
            clash = any(self.clashes(level, place, node, loc)
                        for level, place, node in zip(_LEVELS, places, nodes, strict=True))
        if clash or not (fw_slug and topic_slug and sub_slug):
            # Still check every question, so `validate` lists every problem at once.
            seen: dict[str, Location] = {}
            prefix = "/".join(s or "?" for s in (fw_slug, topic_slug, sub_slug))
            for item in record.questions:
                self.question(item, prefix, seen, record.difficulty_optional)
            return
        paths = ((fw_slug,), (fw_slug, topic_slug), (fw_slug, topic_slug, sub_slug))
        for level, node, path in zip(_LEVELS, (record.framework, record.topic, record.subtopic), paths, strict=True):
            self.warn_unpinned(level, node, path, loc)
        fw = self.frameworks.get(fw_slug)
        if fw is None:
            fw = self.frameworks[fw_slug] = Framework(fw_slug, record.framework.name or fw_slug)
        _merge_node(fw, record.framework)
        topic = next((t for t in fw.topics if t.slug == topic_slug), None)
        if topic is None:
            topic = Topic(topic_slug, record.topic.name or topic_slug)
            fw.topics.append(topic)
        _merge_node(topic, record.topic)
        sub = next((s for s in topic.subtopics if s.slug == sub_slug), None)
        if sub is None:
            sub = Subtopic(sub_slug, record.subtopic.name or sub_slug)
            topic.subtopics.append(sub)
        _merge_node(sub, record.subtopic)
        prefix = f"{fw_slug}/{topic_slug}/{sub_slug}"
        seen: dict[str, Location] = {}
        for item in record.questions:
            question = self.question(item, prefix, seen, record.difficulty_optional)
            if question is None:
                continue
            if question.key in self.owner:
                self.problem(item.location, f"also defined at {self.owner[question.key].location}; "
                                            "keep one of them", f"question {question.id!r} ({question.key})")
                continue
            if not self.claim_identity(question, item.location):
                continue
            self.owner[question.key] = question
            sub.questions.append(question)

    def claim_identity(self, question: Question, loc: Location) -> bool:
        """Two questions may never share an identity: they would be one Anki note (one GUID)."""
        other = self.identities.get(question.identity)
        if other is None:
            self.identities[question.identity] = question
            return True
        record = f"question {question.id!r} ({question.key})"
        if question.origin == other.key:
            why = f"its from= names the key of the question still at {other.location}"
        elif other.origin == question.key:
            why = f"its key is the from= of {other.key} ({other.location}), which moved away from here"
        else:
            why = f"{other.key} ({other.location}) has the same from="
        self.problem(loc, f"{why}: two questions would be one Anki note; keep from= only on the question that "
                          "moved, and give a new question a new id", record)
        return False

    def question(self, item: QuestionRecord, prefix: str, seen: dict[str, Location], difficulty_optional: bool
                 ) -> Question | None:
        loc = item.location
        qid = item.id
        if isinstance(qid, (int, float)) and not isinstance(qid, bool):
            qid = str(qid)
        derived = False
        if qid is None and isinstance(item.question, str) and item.question.strip():
            qid, derived = derive_id(item.question.strip()), True
        if not isinstance(qid, str) or not qid.strip():
            self.problem(loc, "missing `id`; give every question a unique id")
            return None
        qid = qid.strip()
        record = f"question {qid!r} ({prefix})"
        if not ID_RULE.match(qid) or len(qid) > MAX_ID_CHARS:
            self.problem(loc, f"id must be letters, digits, '.', '_' or '-' (at most {MAX_ID_CHARS})", record)
            return None
        if qid in seen:
            self.problem(loc, f"duplicate id, also at {seen[qid]}; ids must be unique within a subtopic",
                         record)
            return None
        seen[qid] = loc
        if derived:
            self.warnings.append(Problem(Location(loc.file, loc.line, record),
                                         "no id: derived from the question text, so editing the text changes "
                                         f"its identity (and its Anki review history); add {{#{qid}}}"))
        ok = True
        difficulty = Difficulty.parse(item.difficulty)
        if difficulty is None and not (difficulty_optional and item.difficulty is None):
            raw = item.difficulty
            shown = "missing" if raw is None or not str(raw).strip() else f"unknown ({str(raw)[:30]!r})"
            # A source that may leave questions unrated (Markdown's `.unrated`) says so in the choices.
            choices = "easy, medium, hard or unrated" if difficulty_optional else "easy, medium or hard"
            self.problem(loc, f"difficulty is {shown}; use {choices}", record)
            ok = False
        texts = []
        for field_name, value, limit in (("question (q)", item.question, MAX_QUESTION_CHARS),
                                         ("answer (a)", item.answer, MAX_ANSWER_CHARS)):
            if item.cloze and field_name.startswith("answer") and (value is None or value == ""):
                texts.append("")  # a cloze's answer is optional extra text
                continue
            if value is None:
                self.problem(loc, f"{field_name} is missing; add the text", record)
            elif not isinstance(value, str):
                self.problem(loc, f"{field_name} must be text, got {_kind(value)}", record)
            elif len(value) > limit:
                self.problem(loc, f"{field_name} is {len(value):,} characters, over the {limit:,} limit; "
                                  "shorten it or split the question", record)
            elif not (value := clean_text(value).strip()):
                self.problem(loc, f"{field_name} is empty; add the text", record)
            elif item.format is ContentFormat.HTML and html_nesting(value) > MAX_HTML_NESTING:
                self.problem(loc, f"{field_name} is HTML nested over {MAX_HTML_NESTING} elements deep; simplify "
                                  "its markup", record)
            elif item.format is ContentFormat.MARKDOWN and (deep := too_deep(value)) is not None:
                # markdown-it would drop the text from there on in every output: never silently
                start = item.answer_line if field_name.startswith("answer") else loc.line
                where = Location(loc.file, start + deep, record) if start else loc
                self.problem(where, f"{field_name}: {TOO_DEEP_MESSAGE}")
            else:
                texts.append(value)
                continue
            ok = False
        key = f"{prefix}/{qid}"
        origin = item.origin
        if origin is not None:
            if not isinstance(origin, str) or not is_key(origin.strip()):
                self.problem(loc, f"from={str(origin)[:80]!r} is not a question key; write the key the question had "
                                  "when it was first exported (framework/topic/subtopic/id, as "
                                  "`qaexport list --keys` printed it)", record)
                ok = False
            elif origin.strip() == key:
                self.problem(loc, "from= names this question's own key; remove it (from= says where a question "
                                  "that moved was first exported)", record)
                ok = False
            else:
                origin = origin.strip()
        if not ok:
            return None
        return Question(qid, difficulty, texts[0], texts[1], key, loc, item.format, origin, item.cloze,
                        dict(item.images))

    def library(self) -> Library:
        # A stable sort: order fields first, then the order of first appearance.
        frameworks = sorted(self.frameworks.values(), key=_order)
        for fw in frameworks:
            fw.topics.sort(key=_order)
            for topic in fw.topics:
                topic.subtopics.sort(key=_order)
        return Library(frameworks, dict(sorted(self.media.items())), self.cover, self.bank_files, self.restored,
                       list(self.unpinned.values()))


def _clean(node: Node) -> Node:
    """A place's name and description as every output shows them (``qaexport.characters``)."""
    name = clean_name(node.name) if isinstance(node.name, str) else node.name
    description = clean_text(node.description) if isinstance(node.description, str) else node.description
    return dataclasses.replace(node, name=name, description=description)


def in_file_order(problems: list[Problem]) -> list[Problem]:
    """Files in the order they were first named, each file's lines top to bottom (stable for equal lines)."""
    files: dict[str, int] = {}
    for p in problems:
        files.setdefault(p.location.file, len(files))
    return sorted(problems, key=lambda p: (files[p.location.file], p.location.line or 0))


def _same_name(a: object, b: object) -> bool:
    """Names that differ only in case and spaces ("Getting started", "Getting  Started") name one place."""
    return isinstance(a, str) and isinstance(b, str) and a.casefold().split() == b.casefold().split()


def _merge_node(target: Framework | Topic | Subtopic, seen: Node) -> None:
    """The first description and order given for a node win; later files fill only what is missing."""
    target.description = target.description or seen.description
    if target.order is None:
        target.order = seen.order


def assemble(results: Iterable[ReadResult]) -> tuple[Library, list[Problem], list[Problem]]:
    """The merged library, every problem (for ``validate``) and every warning, from readers' results."""
    assembler = _Assembler()
    for result in results:
        assembler.problems.extend(result.problems)
        assembler.warnings.extend(result.warnings)
        for media in result.media.values():
            assembler.add_media(media, result)
        if result.cover is not None and assembler.cover is None:  # the first cover named wins
            assembler.cover = result.cover
        for record in result.subtopics:
            assembler.add(record)
        if result.bank_file is not None and result.subtopics:
            assembler.bank_files.setdefault(result.subtopics[0].location.file, result.bank_file)
        assembler.restored += result.restored
    problems = in_file_order(list(dict.fromkeys(assembler.problems)))  # one line per distinct problem
    return assembler.library(), problems, in_file_order(list(dict.fromkeys(assembler.warnings)))
