"""Reader for Markdown banks (the format itself, its syntax and parser, is :mod:`qaexport.formats.markdown_bank`).

This turns a file into records: it reads the bytes within a size bound, parses them, places the questions and
loads the images of HTML questions from a ``media/`` folder beside the file or above it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ...errors import Problem, problem
from ...formats.markdown_bank import LEVELS, MEDIA_FOLDER, NAME, SUFFIXES, UNRATED, decode, parse_text
from ...model import ContentFormat, Location, Media
from ...records import Node, QuestionRecord, ReadResult, SubtopicRecord
from .. import SourceBase
from ..apkg import image_type
from ..files import read_limited

#: Larger files are refused before parsing (same bound as payloads).
MAX_BYTES = 32 * 1024 * 1024
#: Images of HTML questions: content-addressed names (``<sha256[:16]><ext>``) in a ``media/`` folder beside
#: the file or in a folder above it (``convert`` writes ``DIR/media/``). The hash is checked, so a name can
#: only ever load the bytes it names.
MAX_MEDIA_LEVELS = 8
MAX_MEDIA_BYTES = 32 * 1024 * 1024
_MEDIA_SRC = re.compile(r'\bsrc="([0-9a-f]{16}\.(?:png|jpg|gif|webp))"')


# ---------------------------------------------------------------------------------------------- records


def _difficulty(raw: str | None) -> str | None:
    """The record's raw difficulty: ``.unrated`` is None (allowed), no class at all is "" (missing: an error)."""
    if raw is None:
        return ""
    return None if raw.lower() == UNRATED else raw


_QUESTION_HEADING = re.compile(rb"^##[ \t].*\{[^}\n]*[#.][^}\n]*\}[ \t]*$", re.M)


class MarkdownReader(SourceBase):
    """Markdown banks: YAML front matter and one ``## Question {#id .difficulty}`` section per question."""

    name = NAME
    suffixes = SUFFIXES
    description = "Markdown banks: front matter + one `## Question {#id .difficulty}` per question"

    def sniff(self, head: bytes) -> bool:
        """Front matter, or a question heading (a bank file that lost its front matter is still a bank file,
        so its reader can say what is missing); a plain README.md is neither."""
        return head.lstrip(b"\xef\xbb\xbf").startswith(b"---") or _QUESTION_HEADING.search(head) is not None

    def read(self, path: Path) -> ReadResult:
        """The file's subtopic record and its problems; :class:`InputError` when it is not UTF-8 text.

        Identity rules (slugs, ids, derived ids and their warning, duplicates, limits) are
        :mod:`qaexport.assemble`'s; this only turns lines into records and reports syntax at FILE:LINE.
        """
        raw = read_limited(path, MAX_BYTES, "subtopic")
        file = str(path)
        parsed = parse_text(decode(raw, file))
        result = ReadResult(problems=[problem(file, message, line=line) for line, message in parsed.problems],
                            warnings=[problem(file, message, line=line) for line, message in parsed.warnings])
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
        for q in parsed.questions:
            if q.format is ContentFormat.HTML:
                for name in dict.fromkeys(_MEDIA_SRC.findall(q.question + q.answer)):
                    _load_media(path, name, q.line, result.media, result.warnings)
        return result


def _load_media(path: Path, name: str, line: int, media: dict[str, Media], warnings: list[Problem]) -> None:
    """Find ``media/NAME`` beside ``path`` or above it; only bytes whose hash and type match the name load."""
    if name in media:
        return
    folder = path.resolve().parent
    for _ in range(MAX_MEDIA_LEVELS):
        candidate = folder / MEDIA_FOLDER / name
        if candidate.is_file():
            try:
                data = candidate.read_bytes() if candidate.stat().st_size <= MAX_MEDIA_BYTES else b""
            except OSError:
                data = b""
            kind = image_type(data)
            if kind and name == hashlib.sha256(data).hexdigest()[:16] + kind[1]:
                media[name] = Media(name, data, kind[0])
                return
            warnings.append(problem(path, f"image {candidate} does not match its name (hash or type); it is not "
                                          "shown. Convert the source again to rewrite it", line=line))
            return
        if folder.parent == folder:
            break
        folder = folder.parent
    warnings.append(problem(path, f"image {name} not found in a `{MEDIA_FOLDER}/` folder beside the file or above "
                                  "it; it is not shown", line=line))
