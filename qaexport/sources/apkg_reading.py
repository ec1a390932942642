"""Any Anki package (``.apkg`` deck, ``.colpkg`` collection) as a source, rendered by Anki's own engine: the
reading behind the reader plugin :class:`~.apkg.ApkgReader` (loaded when a package is read).

An ``.apkg`` from the internet is hostile input, so reading happens in three guarded steps:

1. :class:`PackageArchive` (``formats/anki_archive.py``, which the Anki exporter also reads a previous package
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

import copy
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
from ..formats.anki_archive import (
    INSTALL_HINT,
    PackageArchive,
    PackageError,
    _refuse,
    safe_media_name,
)
from ..formats.anki_key import parse_key_field
from ..formats.anki_package import (
    BANK_MEMBER,
    CLOZE_FIELDS,
    CLOZE_MODEL_ID,
    FIELDS,
    MAX_BANK_BYTES,
    MODEL_ID,
    Bank,
    BankError,
    OriginalFile,
    content_key,
    read_bank,
    read_originals,
    split_originals,
)
from ..formats.cloze import has_cloze_marker
from ..formats.html import to_text
from ..formats.images import ImageBudget, Refused, accept
from ..formats.markdown_bank import LEVELS, UNRATED, decode, parse_text
from ..limits import MAX_ANSWER_CHARS, MAX_HTML_NESTING, MAX_QUESTION_CHARS, Expansion, ExpansionError, html_nesting
from ..model import BankFile, ContentFormat, Location, Media, Restored
from ..records import Node, QuestionRecord, ReadResult, SubtopicRecord

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
    cloze: bool = False  # a whole cloze note: ``question`` holds its text with Anki's {{c1::…}} deletions
    #: A note of qaexport's own type: its fields by name (the texts, difficulty, breadcrumb and key it was made with).
    fields: dict[str, str] | None = None
    model_id: int = 0


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


_CLOZE_REFERENCE = re.compile(r"\{\{cloze:([^{}:]+)\}\}")
_LEADING_BREAKS = re.compile(r"^(?:\s|<br\s*/?>)+", re.I)


def cloze_field(model: dict) -> str | None:
    """The field a cloze note type's cards cut their deletions from (``{{cloze:Text}}`` on the front), when its
    front names exactly one: the note is then read as one question."""
    templates = model.get("tmpls") or [{}]
    found = set(_CLOZE_REFERENCE.findall(templates[0].get("qfmt", "")))
    return found.pop() if len(found) == 1 else None


def _cloze_note(col: Any, card: Any, field: str, model: dict) -> tuple[str, str]:
    """A cloze note as one question: its text field with Anki's own ``{{c1::…}}`` deletions (rendered by Anki
    without the cloze filter: media and sounds as on a card) and the rest of its back (Back Extra) as the answer.
    The renderer prints the text with blanks, then filled, as it prints a Markdown bank's cloze."""
    template = copy.deepcopy(model["tmpls"][0])
    template["qfmt"] = "{{" + field + "}}"
    back = template.get("afmt", "")
    for reference in ("{{cloze:" + field + "}}", "{{type:cloze:" + field + "}}", "{{FrontSide}}"):
        back = back.replace(reference, "")
    template["afmt"] = back
    out = card.note().ephemeral_card(card.ord, custom_template=template).render_output(reload=False)
    text = _replace_av(out.question_text, out.question_av_tags, out.answer_av_tags)
    extra = _replace_av(out.answer_text, out.question_av_tags, out.answer_av_tags)
    return text.strip(), _LEADING_BREAKS.sub("", extra).strip()


def _cards(col: Any, all_cards: bool, expansion: Expansion) -> Iterator[_Card]:
    """Rendered cards, in deck order then note creation order: the first card of each note (every card with
    ``all_cards``); a cloze note is one question, its text with the deletions (``_cloze_note``).

    Every card may show its whole note (and a note several cards), so all the text made is counted against
    ``expansion``."""
    rows = col.db.all(
        "select c.id, c.nid, c.ord, case when c.odid != 0 then c.odid else c.did end, n.guid, n.tags, n.mid "
        "from cards c join notes n on n.id = c.nid order by n.id, c.ord")
    deck_names = {d.id: d.name for d in col.decks.all_names_and_ids()}
    models = {m["id"]: m for m in col.models.all()}
    cloze_fields = {mid: cloze_field(m) for mid, m in models.items() if m.get("type") == 1}
    cloze_types = set(cloze_fields)
    ours = {model_id: names for model_id, names in ((MODEL_ID, FIELDS), (CLOZE_MODEL_ID, CLOZE_FIELDS))
            if _is_ours(col, model_id, names)}
    seen_notes: set[int] = set()
    for cid, nid, ordinal, did, guid, tags, mid in rows:
        if nid in seen_notes and (mid in ours or mid in cloze_types or not all_cards):
            # a reversed card repeats the same pair; a qaexport note is read once, from its fields; a cloze note
            # is read whole from its first card
            continue
        seen_notes.add(nid)
        card = col.get_card(cid)
        if mid in ours:  # qaexport's own note: its fields are the texts, without the card's header
            note = card.note()
            # Q&A: Question, Answer. Cloze: Text (Anki's cloze syntax, one note for all its deletions), Back Extra.
            fields = dict(zip(FIELDS, (note[name] for name in ours[mid]), strict=True))
            expansion.add(sum(map(len, fields.values())), "the notes' text")
            yield _Card(nid, guid, ordinal, deck_names.get(did, "Default"), tags.split(), fields["Question"].strip(),
                        fields["Answer"].strip(), fields=fields, model_id=mid)
            continue
        field = cloze_fields.get(mid)
        if field is not None:  # someone else's cloze note: read whole, its text with Anki's own deletions
            text, extra = _cloze_note(col, card, field, models[mid])
            expansion.add(len(text) + len(extra), "the cards' text")
            if has_cloze_marker(text):
                yield _Card(nid, guid, ordinal, deck_names.get(did, "Default"), tags.split(), text, extra, True)
                continue
        out = card.render_output(reload=True)
        expansion.add(len(out.question_text) + len(out.answer_text), "the cards' text")
        note = card.note()
        back = answer_without_front(out.question_text, out.answer_text)
        question = _type_in(_replace_av(out.question_text, out.question_av_tags, out.answer_av_tags),
                            note, col, ordinal, back=False)
        answer = _type_in(_replace_av(back, out.question_av_tags, out.answer_av_tags), note, col, ordinal, back=True)
        expansion.add(len(question) + len(answer), "the cards' text")
        yield _Card(nid, guid, ordinal, deck_names.get(did, "Default"), tags.split(), question.strip(), answer,
                    model_id=mid)


def _is_ours(col: Any, model_id: int = MODEL_ID, fields: tuple[str, ...] = FIELDS) -> bool:
    """Whether the collection has a qaexport note type, recognised by its frozen id and field names."""
    model = col.models.get(model_id)
    return model is not None and [f["name"] for f in model["flds"]] == list(fields)


def _our_keys(col: Any) -> list[tuple[str, str | None] | None]:
    """(key, origin) from the Key field of every note of qaexport's types, Q&A and Cloze (None for a field
    qaexport did not write)."""
    keys = []
    for model_id, fields in ((MODEL_ID, FIELDS), (CLOZE_MODEL_ID, CLOZE_FIELDS)):
        if _is_ours(col, model_id, fields):
            keys += [parse_key_field(flds.split("\x1f")[fields.index("Key")])
                     for (flds,) in col.db.all("select flds from notes where mid = ?", model_id)]
    return keys


class _MediaCollector:
    """Finds ``<img src>`` in card HTML, reads each image once, rewrites src to its content-addressed name."""

    def __init__(self, archive: PackageArchive, warnings: list[Problem]) -> None:
        self.archive = archive
        self.warnings = warnings
        self.media: dict[str, Media] = {}
        self.by_source: dict[str, str | None] = {}
        self.budget = ImageBudget()

    def resolve(self, src: str, record: str) -> str | None:
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
            content = self.resolve(m.group(1), record)
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
        bank = _bank(archive, warnings)
        with scratch.folder("apkg") as tmp:
            col = _open_collection(archive, Path(tmp))
            try:
                decks = col.decks.all()
                descriptions = {d["name"]: to_text(split_originals(d.get("desc", ""))[0]) for d in decks}
                originals = _originals(col, decks, path, warnings)
                if bank is not None and not _bank_matches(bank, _our_keys(col), path, warnings):
                    bank = None
                cards = [card for card in _cards(col, all_cards, expansion) if bank is None or card.fields is None]
            except ExpansionError as exc:
                raise _refuse(path, f"{exc}; split the deck") from None
            except Exception as exc:
                raise _refuse(path, f"Anki cannot render the cards ({' '.join(str(exc).split())[:100]}); the "
                                    "package is corrupt, export it again") from exc
            finally:
                col.close(downgrade=False)
        collector = _MediaCollector(archive, warnings)
        subtopics = _bank_records(path, bank, collector) if bank is not None else []
        cover_name = collector.resolve(bank.cover[0], "cover") if bank is not None and bank.cover else None
        cover = (cover_name, bank.cover[1]) if bank is not None and bank.cover and cover_name else None
        restored = [_restore(found, keys, changed, collector) for found, keys, changed, _ in originals]
        written = {guid: record for (found, _, _, same), back in zip(originals, restored, strict=True)
                   for guid, record in _as_written(path, found, back, same).items()}
        subtopics += _note_records(path, [c for c in cards if c.fields is not None], descriptions, collector, warnings,
                                   written)
        subtopics += _tree(path, [c for c in cards if c.fields is None], descriptions, collector, warnings)
    finally:
        archive.close()
    return ReadResult(subtopics=subtopics, problems=[], warnings=warnings, media=collector.media, cover=cover,
                      restored=restored)


_Carried = tuple[OriginalFile, tuple[str, ...], tuple[str, ...], set[str]]


def _originals(col: Any, decks: list[dict[str, Any]], path: Path, warnings: list[Problem]) -> list[_Carried]:
    """The bank files the deck carries (``formats/anki_package``, originals) that have notes in this package, each
    with the keys of its notes here, the keys of those changed since the export (edited, or deleted) and the GUIDs
    of those unchanged: a file none of whose notes is here is left out (a learner exported part of the deck)."""
    files: list[OriginalFile] = []
    for deck in decks:
        payload = split_originals(deck.get("desc", ""))[1]
        if payload is not None:
            try:
                files += read_originals(payload)
            except BankError as exc:
                warnings.append(problem(path, f"the bank files deck {deck.get('name', '')!r} carries are unreadable "
                                              f"({exc}); `convert` writes those in canonical form"))
    if not files:
        return []
    notes: dict[str, tuple[str, str | None]] = {}  # GUID → (content key, question key) of qaexport's notes
    for model_id, fields in ((MODEL_ID, FIELDS), (CLOZE_MODEL_ID, CLOZE_FIELDS)):
        if _is_ours(col, model_id, fields):
            for guid, flds in col.db.all("select guid, flds from notes where mid = ?", model_id):
                values = flds.split("\x1f")
                parsed = parse_key_field(values[fields.index("Key")]) if len(values) == len(fields) else None
                notes[guid] = (content_key(values), parsed[0] if parsed else None)
    found: list[_Carried] = []
    names: set[str] = set()
    for original in files:
        if original.name in names or not any(guid in notes for guid, _, _ in original.notes):
            continue
        names.add(original.name)
        keys = tuple(key for guid, _, _ in original.notes if guid in notes and (key := notes[guid][1]) is not None)
        changed = tuple(key for guid, key, made in original.notes if guid not in notes or notes[guid][0] != made)
        same = {guid for guid, _, made in original.notes if guid in notes and notes[guid][0] == made}
        found.append((original, keys, changed, same))
    return found


_Written = tuple[QuestionRecord, list[Node]]


def _as_written(path: Path, original: OriginalFile, restored: Restored, same: set[str]) -> dict[str, _Written]:
    """GUID → the question as its bank file has it (its Markdown, not the note's HTML) and the file's framework,
    topic and subtopic (names, Markdown descriptions, orders), for each note of the file that is as it was
    exported: a file with a changed note is written in canonical form, and only the changed notes then read as
    HTML. Parsed like any bank file; nothing when it does not parse back to its notes."""
    try:
        parsed = parse_text(decode(original.data, original.name))
    except InputError:
        return {}
    if parsed.problems or len(parsed.questions) != len(original.notes) or len(parsed.places) != len(LEVELS):
        return {}
    places = [parsed.places[level] for level in LEVELS]
    out = {}
    for q, (guid, key, _) in zip(parsed.questions, original.notes, strict=True):
        qid = key.rsplit("/", 1)[-1]
        if guid not in same or q.id not in (None, qid):
            continue
        difficulty = None if q.difficulty is None or q.difficulty.lower() == UNRATED else q.difficulty
        out[guid] = (QuestionRecord(qid, difficulty, q.question, q.answer,
                                    Location(str(path), None, f"bank file {original.name!r} line {q.line}"),
                                    q.format, q.origin, q.cloze, dict(restored.file.images)), places)
    return out


def _restore(original: OriginalFile, keys: tuple[str, ...], changed: tuple[str, ...],
             collector: _MediaCollector) -> Restored:
    """A carried bank file, its images read from the package's media by name (as every image is)."""
    images = {}
    for ref, name in original.images.items():
        carried = accept(original.media[name]) if name in original.media else None
        if carried is not None and not isinstance(carried, Refused) and carried.name == name:
            collector.media.setdefault(name, carried)  # the cover: checked like any image, by the same rules
            content: str | None = name
        else:
            content = collector.resolve(name, f"bank file {original.name!r}")
        if content is not None:
            images[ref] = content
    return Restored(BankFile(original.name, original.data, images), keys, changed)


def _bank(archive: PackageArchive, warnings: list[Problem]) -> Bank | None:
    """The bank a qaexport deck carries (see ``formats/anki_package``), or None."""
    if not archive._has(BANK_MEMBER):
        return None
    try:
        return read_bank(archive._read_small(BANK_MEMBER, MAX_BANK_BYTES))
    except (BankError, PackageError) as exc:
        warnings.append(problem(archive.path, f"its {BANK_MEMBER} is unreadable ({exc}); the notes are read instead"))
        return None


def _bank_matches(bank: Bank, note_keys: list[tuple[str, str | None] | None], path: Path,
                  warnings: list[Problem]) -> bool:
    """The bank is used only for exactly the qaexport notes the collection holds (their Key fields: key and
    origin), each key made as the assembler makes it: anything else (notes edited or removed in a crafted package)
    reads the notes themselves."""
    questions = [(fw, t, s, q) for fw in bank.frameworks for t in fw.children for s in t.children
                 for q in s.questions]
    keys = [(q["key"], q["origin"] or None) for *_, q in questions]
    made = [(f"{fw.slug}/{t.slug}/{s.slug}/{q['id']}", q["origin"] or None) for fw, t, s, q in questions]
    found = [k for k in note_keys if k is not None]
    if len(found) == len(note_keys) and sorted(keys) == sorted(found) and keys == made and len(set(keys)) == len(keys):
        return True
    warnings.append(problem(path, f"its {BANK_MEMBER} does not match its notes; the notes are read instead"))
    return False


def _bank_records(path: Path, bank: Bank, collector: _MediaCollector) -> list[SubtopicRecord]:
    """The bank's subtopics as records, exactly as the bank they were exported from gave them; the images they
    show come from the package's media, by name."""
    records = []
    for fw in bank.frameworks:
        for topic in fw.children:
            for sub in topic.children:
                nodes = [Node(n.name, n.slug, n.description, n.order) for n in (fw, topic, sub)]
                questions = []
                for q in sub.questions:
                    record = f"question {q['key']}"
                    found = {ref: collector.resolve(name, record) for ref, name in q["images"].items()}
                    images = {ref: name for ref, name in found.items() if name}
                    if q["format"] == ContentFormat.HTML.value:
                        for name in dict.fromkeys(_IMG_SRC.findall(q["question"] + q["answer"])):
                            collector.resolve(name, record)
                    fmt = ContentFormat(q["format"]) if q["format"] in set(ContentFormat) else ContentFormat.MARKDOWN
                    questions.append(QuestionRecord(q["id"], q["difficulty"] or None, q["question"], q["answer"],
                                                    Location(str(path), None, record), fmt, q["origin"] or None,
                                                    cloze=bool(q["cloze"]), images=images))
                records.append(SubtopicRecord(*nodes, questions, Location(str(path), None, f"subtopic {sub.slug!r}"),
                                              difficulty_optional=True))
    return records


def _names(card: _Card) -> tuple[str, str, str]:
    """Framework, topic and subtopic names of a qaexport note: its Source breadcrumb (which names a level named
    like its parent once), completed from its deck path where a level was left out."""
    assert card.fields is not None
    crumb = [part.strip() for part in html.unescape(card.fields["Source"]).split(" › ")]
    if len(crumb) >= 3:
        return crumb[0], crumb[1], " › ".join(crumb[2:])
    deck = [part.strip() for part in card.deck.split("::")]
    if len(crumb) == 2:  # (A, A, B) or (A, B, B): the deck path tells which level repeats its parent
        return (crumb[0], crumb[1], crumb[1]) if len(deck) >= 2 and deck[-2] == deck_part_like(crumb[1]) \
            else (crumb[0], crumb[0], crumb[1])
    return crumb[0], crumb[0], crumb[0]


def deck_part_like(name: str) -> str:
    """A name as a deck path part shows it (only whitespace is compared: the writer's other cleaning is rare)."""
    return " ".join(name.split())


def _note_records(path: Path, cards: list[_Card], descriptions: dict[str, str], collector: _MediaCollector,
                  warnings: list[Problem], written: dict[str, _Written] | None = None) -> list[SubtopicRecord]:
    """qaexport's own notes, read from their fields (a package exported again from Anki has no bank member): the
    Key gives the slugs and the id, so keys, anchors and GUIDs are the ones the deck was made with; Difficulty the
    difficulty; Question and Answer the HTML, without the card's badge and breadcrumb. Notes in book order. A note
    in ``written`` (one the deck's originals hold unchanged) is the question as its bank file wrote it."""
    places: dict[tuple[str, str, str], SubtopicRecord] = {}
    for card in cards:
        assert card.fields is not None
        record = f"note {card.note_id}"
        parsed = parse_key_field(card.fields["Key"])
        if parsed is None:
            warnings.append(problem(path, f"its Key field {card.fields['Key'][:80]!r} is not "
                                          "framework/topic/subtopic/id; skipped", record))
            continue
        key, origin = parsed[0].split("/"), parsed[1]
        slugs = (key[0], key[1], key[2])
        if slugs not in places:
            parts = card.deck.split("::")  # PREFIX::Framework::Topic::Subtopic unless exported --flat
            decks = ["::".join(parts[:len(parts) - up]) for up in (2, 1, 0)] if len(parts) >= 3 else ["", "", ""]
            nodes = [Node(name, slug, descriptions.get(deck, "")) for name, slug, deck in
                     zip(_names(card), slugs, decks, strict=True)]
            if written and card.guid in written:  # the names, descriptions and orders its bank file gave
                nodes = [Node(place.name or node.name, node.slug, place.description, place.order)
                         for place, node in zip(written[card.guid][1], nodes, strict=True)]
            places[slugs] = SubtopicRecord(*nodes, [], Location(str(path), None, f"deck {card.deck!r}"),
                                           difficulty_optional=True)
        if written and card.guid in written:  # unchanged since the export: as its bank file wrote it
            places[slugs].questions.append(written[card.guid][0])
            continue
        difficulty = html.unescape(card.fields["Difficulty"]).strip()
        question, answer = collector.rewrite(card.question, record), collector.rewrite(card.answer, record)
        if (why := _too_long(card, question, answer)) is not None:
            warnings.append(problem(path, why, record))
            continue
        places[slugs].questions.append(QuestionRecord(key[3], difficulty or None, question, answer,
                                                      Location(str(path), None, record), ContentFormat.HTML, origin,
                                                      cloze=card.model_id == CLOZE_MODEL_ID))
    return [place for place in places.values() if place.questions]  # (every note of one skipped: no place)


def _too_long(card: _Card, question: str, answer: str) -> str | None:
    """Why a note's texts (as the source gives them on) are over the limits every source has, for a warning that
    names the note by its deck and first words; None when they are not. A package is somebody else's data: its
    note is skipped and the run goes on (a Markdown bank's author gets an error with the file and line instead)."""
    for side, text, limit in (("front (question)", question, MAX_QUESTION_CHARS),
                              ("back (answer)", answer, MAX_ANSWER_CHARS)):
        if len(text) > limit:
            words = " ".join(to_text(question[:2_000]).split()[:8])  # the note by its question
            return (f"deck {shown(card.deck, 60)}, note {shown(words, 60)}: its {side} is {len(text):,} characters, "
                    f"over the {limit:,} limit; skipped (shorten the note in Anki, or split it into several notes)")
    return None


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
            if (why := _too_long(card, question, answer)) is not None:
                warnings.append(problem(path, why, record))
                continue
            questions.append(QuestionRecord(
                id=question_id(card.guid, card.ord), difficulty=difficulty_from_tags(card.tags),
                question=question, answer=answer, location=Location(str(path), None, record),
                format=ContentFormat.HTML, cloze=card.cloze))
        if questions:
            records.append(SubtopicRecord(nodes[0], nodes[1], nodes[2], questions,
                                          Location(str(path), None, f"deck {deck!r}"), difficulty_optional=True))
    return records

