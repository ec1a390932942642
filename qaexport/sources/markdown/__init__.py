"""Reader for Markdown banks (the format itself, its syntax and parser, is :mod:`qaexport.formats.markdown_bank`).

This turns a file into records: it reads the bytes within a size bound, parses them, places the questions and
loads the images of HTML questions from a ``media/`` folder beside the file or above it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ...errors import InputError, Problem, problem
from ...formats.markdown_bank import LEVELS, MEDIA_FOLDER, NAME, SUFFIXES, UNRATED, decode, parse_text
from ...limits import MAX_IMAGE_BYTES, ImageBudget, check_image, image_type
from ...model import ContentFormat, Location, Media
from ...reading import read_limited
from ...records import Node, QuestionRecord, ReadResult, SubtopicRecord
from .. import SourceBase

#: Larger files are refused before parsing (same bound as payloads).
MAX_BYTES = 32 * 1024 * 1024
#: Lines a file may have (a 50,000-question bank has about 700,000): checked before parsing, which costs some
#: microseconds per line whatever the line holds.
MAX_LINES = 1_000_000
#: Images of HTML questions: content-addressed names (``<sha256[:16]><ext>``) in a ``media/`` folder beside
#: the file or in a folder above it (``convert`` writes ``DIR/media/``). The hash is checked, so a name can
#: only ever load the bytes it names.
MAX_MEDIA_LEVELS = 8
_MEDIA_SRC = re.compile(r'\bsrc="([0-9a-f]{16}\.(?:png|jpg|gif|webp))"')


# ---------------------------------------------------------------------------------------------- records


def _difficulty(raw: str | None) -> str | None:
    """The record's raw difficulty: ``.unrated`` is None (allowed), no class at all is "" (missing: an error)."""
    if raw is None:
        return ""
    return None if raw.lower() == UNRATED else raw


def _looks_like_question_heading(line: bytes) -> bool:
    """``## text {… #id or .class …}``: what :meth:`MarkdownReader.sniff` looks for, checked from the line's end
    (the pattern it replaces backtracked for seconds over 4 KiB of braces)."""
    if not line.startswith((b"## ", b"##\t")):
        return False
    body = line.rstrip(b" \t\r")
    if not body.endswith(b"}"):
        return False
    body = body[:-1]
    block = body[body.rfind(b"}") + 1:]
    start = block.find(b"{")
    return start != -1 and (b"#" in block[start + 1:] or b"." in block[start + 1:])


class MarkdownReader(SourceBase):
    """Markdown banks: YAML front matter and one ``## Question {#id .difficulty}`` section per question."""

    name = NAME
    suffixes = SUFFIXES
    description = "Markdown banks: front matter + one `## Question {#id .difficulty}` per question"

    def sniff(self, head: bytes) -> bool:
        """Front matter, or a question heading (a bank file that lost its front matter is still a bank file,
        so its reader can say what is missing); a plain README.md is neither."""
        return head.lstrip(b"\xef\xbb\xbf").startswith(b"---") or any(
            _looks_like_question_heading(line) for line in head.split(b"\n"))

    def read(self, path: Path) -> ReadResult:
        """The file's subtopic record and its problems; :class:`InputError` when it is not UTF-8 text.

        Identity rules (slugs, ids, derived ids and their warning, duplicates, limits) are
        :mod:`qaexport.assemble`'s; this only turns lines into records and reports syntax at FILE:LINE.
        """
        raw = read_limited(path, MAX_BYTES, "subtopic")
        file = str(path)
        lines = raw.count(b"\n") + 1
        if lines > MAX_LINES:
            raise InputError(path, f"file has {lines:,} lines, over the {MAX_LINES:,} limit; split the subtopic into "
                                   "several files")
        parsed = parse_text(decode(raw, file))
        result = ReadResult(problems=[problem(file, message, line=line) for line, message in parsed.problems])
        if not parsed.questions and not parsed.problems:
            result.problems.append(problem(file, "no questions; add `## Question text {#id .easy}` headings "
                                                 "with answers below", line=1))
        if len(parsed.places) < len(LEVELS):
            if not result.problems:
                return result
            # The place is broken (reported above). Its questions still go to the assembler, under a place of
            # this file's own that nothing else can share, so `validate` lists their problems too.
            unplaced = "unplaced-" + hashlib.sha256(file.encode()).hexdigest()[:12]
            places = [Node(unplaced, unplaced)] * len(LEVELS)
        else:
            places = [parsed.places[lv] for lv in LEVELS]
        fw, topic, sub = places
        questions = [QuestionRecord(q.id, _difficulty(q.difficulty), q.question, q.answer, Location(file, q.line),
                                    q.format, q.origin) for q in parsed.questions]
        result.subtopics.append(SubtopicRecord(fw, topic, sub, questions, Location(file, 1), difficulty_optional=True))
        budget = ImageBudget()
        for q in parsed.questions:
            if q.format is ContentFormat.HTML:
                for name in dict.fromkeys(_MEDIA_SRC.findall(q.question + q.answer)):
                    _load_media(path, name, q.line, result.media, result.warnings, budget)
        return result


def _load_media(path: Path, name: str, line: int, media: dict[str, Media], warnings: list[Problem],
                budget: ImageBudget) -> None:
    """Find ``media/NAME`` beside ``path`` or above it; only bytes whose hash and type match the name load, and only
    within the image limits (``qaexport.limits``: shrunk or skipped, with a warning)."""
    if name in media:
        return
    folder = path.resolve().parent
    for _ in range(MAX_MEDIA_LEVELS):
        candidate = folder / MEDIA_FOLDER / name
        if candidate.is_file():
            try:
                data = candidate.read_bytes() if candidate.stat().st_size <= MAX_IMAGE_BYTES else b""
            except OSError:
                data = b""
            kind = image_type(data)
            if not (kind and name == hashlib.sha256(data).hexdigest()[:16] + kind[1]):
                warnings.append(problem(path, f"image {candidate} does not match its name (hash or type); it is "
                                              "not shown. Convert the source again to rewrite it", line=line))
                return
            checked = check_image(data)
            reason = checked if isinstance(checked, str) else budget.admit(len(checked.data), checked.pixels)
            if reason:
                warnings.append(problem(path, f"image {candidate} skipped: {reason}", line=line))
                return
            if checked.note:
                warnings.append(problem(path, f"image {candidate}: {checked.note}", line=line))
            media[name] = Media(name, checked.data, checked.mime, checked.pixels)
            return
        if folder.parent == folder:
            break
        folder = folder.parent
    warnings.append(problem(path, f"image {name} not found in a `{MEDIA_FOLDER}/` folder beside the file or above "
                                  "it; it is not shown", line=line))
