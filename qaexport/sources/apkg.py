"""Any Anki package (``.apkg`` deck, ``.colpkg`` collection) as a source, rendered by Anki's own engine.

An ``.apkg`` from the internet is hostile input, so reading happens in three guarded steps:

1. :class:`PackageArchive` (``formats/anki_package.py``, which the Anki exporter also reads a previous package
   with) checks the zip before anything else touches it: a readable, complete zip with a collection inside, sane
   member counts and declared sizes, a media map whose names stay inside their folder. The collection is streamed
   through zip (and zstd, for current packages) with a size cap before Anki sees it.
2. Anki's importer (the official ``anki`` package) loads a *stripped copy* of the package (collection and
   ``meta`` only, an empty media map) into a fresh collection in a private temporary folder. That handles every
   package format Anki writes — legacy ``collection.anki2``, ``collection.anki21``, current zstd
   ``collection.anki21b`` (its placeholder ``collection.anki2`` is never read) — and Anki never writes a single
   media file to disk. Every card is rendered with Anki's template engine (cloze, conditionals, FrontSide,
   filters); qaexport re-implements none of it.
3. Images the rendered cards name are read from the original zip by exact name through the media map, capped,
   checked by ``formats.images`` (type by magic bytes, pixel limit, SVG sanitised) and stored content-addressed.
   Card HTML is passed on as :attr:`ContentFormat.HTML`; the render layer sanitises it (``render/html.py``).
   Sounds and videos become a visible label, type-in boxes a blank on the front and the expected answer on the back.

Deck tree → framework › topic › subtopic (a deck path ``A::B::C::D`` has at most three printed levels):

=================  =========  =========  ===========
deck path          framework  topic      subtopic
=================  =========  =========  ===========
``A``              A          A          A
``A::B``           A          B          B
``A::B::C``        A          B          C
``A::B::C::D…``    A          B          ``C › D …``
=================  =========  =========  ===========

A level that repeats its parent's name is the same deck seen again; exporters print it once (the name and the
deck description are given only to the highest level that stands for that deck).
"""

from __future__ import annotations

import hashlib
import html
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import nh3

from .. import scratch
from ..errors import InputError, Problem, problem, shown
from ..formats.anki_package import (
    INSTALL_HINT,
    SUFFIXES,
    ZIP_MAGIC,
    PackageArchive,
    _refuse,
    safe_media_name,
)
from ..formats.cloze import cloze_cards
from ..formats.html import to_text
from ..formats.images import ImageBudget, Refused, accept
from ..limits import MAX_HTML_NESTING, Expansion, ExpansionError, html_nesting
from ..model import ContentFormat, Location, Media
from ..plugins import option
from ..records import Node, QuestionRecord, ReadResult, SubtopicRecord
from . import SourceBase

VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mkv", ".mov", ".avi", ".ogv", ".mpg", ".mpeg", ".m4v", ".3gp"})
DIFFICULTIES = ("easy", "medium", "hard")

_IMG_SRC = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"')  # only run on nh3's canonical output
_AV_REF = re.compile(r"\[anki:play:([qa]):(\d+)\]")
_TYPE_OPEN = "[[type:"
_ANSWER_RULE = re.compile(r"""<hr\s+id\s*=\s*["']?answer["']?\s*/?>""", re.I)


@dataclass
class _Card:
    """One rendered card, before it is placed in the tree."""

    note_id: int
    guid: str
    ord: int
    deck: str
    tags: list[str]
    question: str
    answer: str


def difficulty_from_tags(tags: list[str]) -> str | None:
    """``difficulty::hard`` (what qaexport writes) or a plain ``hard`` tag; else none."""
    for tag in tags:
        low = tag.lower()
        value = low.removeprefix("difficulty::")
        if value in DIFFICULTIES and (low == value or low.startswith("difficulty::")):
            return value
    return None


def question_id(guid: str, ordinal: int) -> str:
    """Stable across re-exports of the same deck; GUIDs are case-sensitive base91, so hash them."""
    return f"{hashlib.sha256(guid.encode()).hexdigest()[:16]}-{ordinal + 1}"


def deck_levels(deck: str) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str]]:
    """(name, full deck path it stands for) for framework, topic, subtopic; see the module table."""
    parts = [p.strip() or "Untitled" for p in deck.split("::")]
    joined = ["::".join(parts[: i + 1]) for i in range(len(parts))]
    if len(parts) == 1:
        return (parts[0], joined[0]), (parts[0], joined[0]), (parts[0], joined[0])
    if len(parts) == 2:
        return (parts[0], joined[0]), (parts[1], joined[1]), (parts[1], joined[1])
    return (parts[0], joined[0]), (parts[1], joined[1]), (" › ".join(parts[2:]), joined[-1])


def _av_label(tag: Any) -> str:
    filename = getattr(tag, "filename", None)
    if filename is not None:
        kind = "▶ video" if PurePosixPath(filename).suffix.lower() in VIDEO_SUFFIXES else "♪ audio"
        return f'<span class="media-label">[{kind}: {html.escape(filename)}]</span>'
    text = getattr(tag, "field_text", "")
    return f'<span class="media-label">[♪ spoken: {html.escape(to_text(text))}]</span>'


def _replace_av(text: str, q_tags: list, a_tags: list) -> str:
    def label(m: re.Match[str]) -> str:
        tags = q_tags if m.group(1) == "q" else a_tags
        index = int(m.group(2))
        return _av_label(tags[index]) if index < len(tags) else ""

    return _AV_REF.sub(label, text)


def _type_in_fields(text: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, kind, field) of each ``[[type:FIELD]]`` / ``[[type:cloze:FIELD]]`` / ``[[type:nc:FIELD]]`` in
    ``text``, found in one pass: the field runs to the first ``]``, which must be doubled. A start whose first ``]``
    is not doubled fails for every later start before that ``]`` too, so the scan resumes after it."""
    pos = 0
    while (start := text.find(_TYPE_OPEN, pos)) != -1:
        close = text.find("]", start + len(_TYPE_OPEN))
        if close == -1:
            return
        if not text.startswith("]]", close):
            pos = close + 1
            continue
        name = text[start + len(_TYPE_OPEN):close]
        kind = ""
        for prefix in ("cloze:", "nc:"):
            if name.startswith(prefix):
                kind, name = prefix[:-1], name[len(prefix):]
                break
        yield start, close + 2, kind, name
        pos = close + 2


def _type_in(text: str, note: Any, col: Any, ordinal: int, back: bool) -> str:
    """Front: a blank to write in. Back: the expected answer (what Anki compares the typed text with)."""
    out, pos = [], 0
    for start, end, kind, field_name in _type_in_fields(text):
        out.append(text[pos:start])
        pos = end
        if not back:
            out.append('<span class="type-in">✎ ____________</span>')
            continue
        try:
            value = note[field_name]
        except KeyError:
            continue
        if kind == "cloze":
            value = col.extract_cloze_for_typing(value, ordinal + 1)
        out.append(f"<div>{value}</div>")
    out.append(text[pos:])
    return "".join(out)


def answer_without_front(question: str, answer: str) -> str:
    """The back side minus the repeated front: after Anki's ``<hr id=answer>``, else after an exact prefix."""
    parts = _ANSWER_RULE.split(answer, maxsplit=1)
    if len(parts) == 2:
        return parts[1].strip()
    if question and answer.startswith(question):
        return answer[len(question):].strip()
    return answer.strip()


def _open_collection(archive: PackageArchive, folder: Path) -> Any:
    """Import the stripped package into a fresh collection in ``folder`` with Anki's own importer."""
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    stripped = folder / "package.apkg"
    archive.stripped_copy(stripped)
    col = Collection(str(folder / "collection.anki2"))
    try:
        col.import_anki_package(ImportAnkiPackageRequest(
            package_path=str(stripped),
            options=ImportAnkiPackageOptions(with_scheduling=False, with_deck_configs=False, merge_notetypes=False),
        ))
    except Exception as exc:  # anki.errors.* for a corrupt database, schema problems, ...
        col.close(downgrade=False)
        code = re.search(r"code: (\w+)", str(exc))
        reason = f"SQLite: {code.group(1)}" if code else (" ".join(str(exc).split())[:80] or type(exc).__name__)
        raise _refuse(archive.path, f"Anki cannot open the collection inside ({reason}); the package is "
                                    "corrupt, export it again") from exc
    return col


def _cards(col: Any, all_cards: bool, expansion: Expansion, path: Path, warnings: list[Problem]) -> Iterator[_Card]:
    """Rendered cards, in deck order then note creation order: one per cloze deletion, else the first card.

    Every card shows its whole note, so a note's cloze cards are bounded (``limits.cloze_cards``: the first ones
    are kept, with a warning), and all the text rendered is counted against ``expansion``."""
    rows = col.db.all(
        "select c.id, c.nid, c.ord, case when c.odid != 0 then c.odid else c.did end, n.guid, n.tags, n.mid "
        "from cards c join notes n on n.id = c.nid order by n.id, c.ord")
    deck_names = {d.id: d.name for d in col.decks.all_names_and_ids()}
    cloze_types = {m["id"] for m in col.models.all() if m.get("type") == 1}
    per_note: dict[int, int] = {}  # cloze notes: their cards
    for _cid, nid, _ord, _did, _guid, _tags, mid in rows:
        if mid in cloze_types:
            per_note[nid] = per_note.get(nid, 0) + 1
    made: dict[int, int] = {}
    allowed: dict[int, int] = {}  # cloze notes: the cards that may be made, from the first card's size
    for cid, nid, ordinal, did, guid, tags, mid in rows:
        if not all_cards and mid not in cloze_types and nid in made:
            continue  # a reversed card repeats the same pair
        made[nid] = made.get(nid, 0) + 1
        if nid in allowed and made[nid] > allowed[nid]:
            continue
        card = col.get_card(cid)
        out = card.render_output(reload=True)
        size = len(out.question_text) + len(out.answer_text)
        expansion.add(size, "the cards' text")
        if nid in per_note and nid not in allowed:
            allowed[nid] = cloze_cards(per_note[nid], size)  # formats/cloze: the one place for cloze bounds
            if allowed[nid] < per_note[nid]:
                warnings.append(problem(path, f"{per_note[nid]:,} cloze deletions would make as many cards of the "
                                              f"whole note ({size:,} characters each); only the first "
                                              f"{allowed[nid]:,} are read. Split the note", f"note {nid}"))
        note = card.note()
        back = answer_without_front(out.question_text, out.answer_text)
        question = _type_in(_replace_av(out.question_text, out.question_av_tags, out.answer_av_tags),
                            note, col, ordinal, back=False)
        answer = _type_in(_replace_av(back, out.question_av_tags, out.answer_av_tags), note, col, ordinal, back=True)
        expansion.add(len(question) + len(answer), "the cards' text")
        yield _Card(nid, guid, ordinal, deck_names.get(did, "Default"), tags.split(), question.strip(), answer)


class _MediaCollector:
    """Finds ``<img src>`` in card HTML, reads each image once, rewrites src to its content-addressed name."""

    def __init__(self, archive: PackageArchive, warnings: list[Problem]) -> None:
        self.archive = archive
        self.warnings = warnings
        self.media: dict[str, Media] = {}
        self.by_source: dict[str, str | None] = {}
        self.budget = ImageBudget()

    def _resolve(self, src: str, record: str) -> str | None:
        if src in self.by_source:
            return self.by_source[src]
        name = html.unescape(src)
        candidates = [name, urllib.parse.unquote(name)]
        result: bytes | str = "not in the package's media"
        chosen = name
        for candidate in candidates:
            if not safe_media_name(candidate):
                result = "not a plain media file name"
                continue
            result = self.archive.read_image(candidate)
            chosen = candidate
            if isinstance(result, bytes):
                break
        content: str | None = None
        notes: list[str] = []
        media = accept(result, notes) if isinstance(result, bytes) else Refused(result)
        if isinstance(media, Refused):  # type, pixels, SVG sanitised: the same rules as a bank's images
            self.warnings.append(problem(self.archive.path, f"image {shown(chosen)} skipped: {media}", record))
        elif media.name in self.media:
            content = media.name
        elif full := self.budget.admit(len(media.data), media.pixels):
            self.warnings.append(problem(self.archive.path, f"image {shown(chosen)} skipped: {full}", record))
        else:
            for note in notes:
                self.warnings.append(problem(self.archive.path, f"image {shown(chosen)}: {note}", record))
            content = media.name
            self.media[content] = media
        self.by_source[src] = content
        return content

    def rewrite(self, card_html: str, record: str) -> str:
        """Canonicalise with nh3 (keeping everything the final sanitiser decides on), then map image names."""
        canonical = nh3.clean(card_html, tags=set(nh3.ALLOWED_TAGS) | {"font", "hr"},
                              clean_content_tags={"script", "style"},
                              attributes={"*": {"class"}, "img": {"src", "alt", "title", "width", "height"},
                                          "a": {"href", "title"},
                                          "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}},
                              url_schemes={"http", "https", "mailto"}, strip_comments=True, link_rel=None)

        def repl(m: re.Match[str]) -> str:
            content = self._resolve(m.group(1), record)
            start, end = m.span(1)
            rel_start, rel_end = start - m.start(), end - m.start()
            return m.group(0)[:rel_start] + (content or "") + m.group(0)[rel_end:]

        return _IMG_SRC.sub(repl, canonical)


def read_package(path: Path, all_cards: bool = False) -> ReadResult:
    """The whole package as contract records: one subtopic per deck, questions in note order, images by content."""
    try:
        import anki.collection  # noqa: F401
        import zstandard  # noqa: F401
    except ImportError:
        raise InputError(path, INSTALL_HINT) from None
    archive = PackageArchive.open(path)
    warnings: list[Problem] = []
    try:
        expansion = Expansion(archive.check_collection())
        with scratch.folder("apkg") as tmp:
            col = _open_collection(archive, Path(tmp))
            try:
                descriptions = {d["name"]: to_text(d.get("desc", "")) for d in col.decks.all()}
                cards = list(_cards(col, all_cards, expansion, path, warnings))
            except ExpansionError as exc:
                raise _refuse(path, f"{exc}; split the deck") from None
            except Exception as exc:
                raise _refuse(path, f"Anki cannot render the cards ({' '.join(str(exc).split())[:100]}); the "
                                    "package is corrupt, export it again") from exc
            finally:
                col.close(downgrade=False)
        collector = _MediaCollector(archive, warnings)
        subtopics = _tree(path, cards, descriptions, collector, warnings)
    finally:
        archive.close()
    return ReadResult(subtopics=subtopics, problems=[], warnings=warnings, media=collector.media)


def _tree(path: Path, cards: list[_Card], descriptions: dict[str, str], collector: _MediaCollector,
          warnings: list[Problem]) -> list[SubtopicRecord]:
    by_deck: dict[str, list[_Card]] = {}
    for card in cards:
        by_deck.setdefault(card.deck, []).append(card)

    def tree_order(deck: str) -> list[str]:
        return [p.casefold() for p in deck.split("::")]

    records: list[SubtopicRecord] = []
    described: set[str] = set()
    for deck in sorted(by_deck, key=tree_order):
        levels = deck_levels(deck)
        nodes = []
        for name, full in levels:
            desc = ""
            if full not in described:
                desc = descriptions.get(full, "")
                described.add(full)
            nodes.append(Node(name=name, description=desc))
        questions = []
        for card in by_deck[deck]:
            record = f"note {card.note_id} card {card.ord + 1}"
            if max(html_nesting(card.question), html_nesting(card.answer)) > MAX_HTML_NESTING:
                warnings.append(problem(path, f"the card's HTML is nested over {MAX_HTML_NESTING} elements deep; "
                                              "skipped", record))
                continue
            question = collector.rewrite(card.question, record)
            answer = collector.rewrite(card.answer, record)
            if not nh3.clean(question, tags={"img"}).strip():
                warnings.append(problem(path, "the card's front is empty; skipped", record))
                continue
            questions.append(QuestionRecord(
                id=question_id(card.guid, card.ord), difficulty=difficulty_from_tags(card.tags),
                question=question, answer=answer, location=Location(str(path), None, record),
                format=ContentFormat.HTML))
        if questions:
            records.append(SubtopicRecord(nodes[0], nodes[1], nodes[2], questions,
                                          Location(str(path), None, f"deck {deck!r}"), difficulty_optional=True))
    return records


@dataclass
class ApkgOptions:
    all_cards: bool = option(False, "Anki packages: print every card of each note (reversed cards too), not just "
                                    "each note's first card (cloze notes always give every deletion).")


class ApkgReader(SourceBase):
    """Source plugin: Anki packages (.apkg decks, .colpkg collections)."""

    name = "apkg"
    suffixes = SUFFIXES
    description = "Anki packages (.apkg/.colpkg), rendered with Anki's own card templates"

    Options = ApkgOptions

    def __init__(self, options: ApkgOptions | None = None) -> None:
        self.all_cards = (options or ApkgOptions()).all_cards

    def sniff(self, head: bytes) -> bool:
        return head[:4] in ZIP_MAGIC

    def read(self, path: Path) -> ReadResult:
        return read_package(path, all_cards=self.all_cards)
