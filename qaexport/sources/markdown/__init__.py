"""Reader for Markdown banks (the format itself, its syntax and parser, is :mod:`qaexport.formats.markdown_bank`).

This turns a file into records: it reads the bytes within a size bound, parses them, places the questions and
loads the images of HTML questions from a ``media/`` folder beside the file or above it.
"""

from __future__ import annotations

import hashlib
import re
import stat
import urllib.parse
from pathlib import Path, PureWindowsPath

from ...errors import InputError, Problem, as_written, problem
from ...formats.cloze import OPEN
from ...formats.dialect import might_hold_extras, scan
from ...formats.images import MAX_IMAGE_BYTES, MAX_IMAGES_TOTAL, ImageBudget, Refused, accept, raster_type
from ...formats.markdown_bank import LEVELS, MEDIA_FOLDER, NAME, SUFFIXES, UNRATED, decode, parse_text
from ...formats.math import MathError, mathml
from ...limits import mib
from ...model import BankFile, ContentFormat, Location, Media
from ...reading import noticed, read_limited
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
        images = BankImages(path, result)
        questions = []
        for q in parsed.questions:
            shown: dict[str, str] = {}
            if q.format is ContentFormat.MARKDOWN:
                for text, line, answer in ((q.question, q.line, False), (q.answer, q.answer_line, True)):
                    shown.update(_extras(text, line, images, result, answer=answer))
            questions.append(QuestionRecord(q.id, _difficulty(q.difficulty), q.question, q.answer,
                                            Location(file, q.line), q.format, q.origin, q.cloze, shown,
                                            q.answer_line or None))
        result.subtopics.append(SubtopicRecord(fw, topic, sub, questions, Location(file, 1), difficulty_optional=True))
        for q in parsed.questions:
            if q.format is ContentFormat.HTML:
                for name in dict.fromkeys(_MEDIA_SRC.findall(q.question + q.answer)):
                    _load_media(path, name, q.line, result.media, result.warnings, images.budget)
        if parsed.cover is not None:
            name = images.load(parsed.cover[0], parsed.cover[1])
            if name is not None:
                result.cover = (name, "Cover image")
        # The file as written, for a deck to carry back (``sources.load`` names it inside the bank folder).
        result.bank_file = BankFile(path.name, raw, {src: name for src, name in images.loaded.items() if name})
        return result


def _extras(text: str, line: int, images: BankImages, result: ReadResult, answer: bool = False) -> dict[str, str]:
    """Load the images a Markdown text shows and check its formulas (a warning, FILE:LINE, for one that cannot be
    typeset: it prints as code). The question's deletions were checked by the bank parser; one in an ``answer`` is
    a warning: only the question's text makes cloze cards, so it would print filled in and hide nothing. Returns
    reference → media name."""
    if not text or not might_hold_extras(text):
        return {}
    found = scan(text)
    if answer and found.numbers:
        opened = OPEN.search(text)
        at = line + (text[:opened.start()].count("\n") if opened else 0)
        result.warnings.append(problem(images.file, "a cloze deletion in the answer hides nothing and makes no card "
                                                    "(only the question's text does: the heading, or a ```cloze "
                                                    "fence right below it); move it there, or write \\{{c1::…}} "
                                                    "to show the syntax as text", line=at))
    shown: dict[str, str] = {}
    for image in found.images:
        name = images.load(image.src, line + image.line)
        if name is not None:
            shown[image.src] = name
    for formula in found.formulas:
        try:
            mathml(formula.tex, formula.display)
        except MathError as exc:
            shown_tex = as_written(" ".join(formula.tex.split()), 60)  # as written: `\frac`, not repr's `\\frac`
            result.warnings.append(problem(images.file, f"formula {shown_tex} cannot be typeset ({exc}); it "
                                                        "prints as code. Fix the TeX", line=line + formula.line))
    return shown


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")


class BankImages:
    """The images one bank file shows: paths relative to the file, inside the file's folder (the bank folder:
    no URL, no ``..`` or symlink that leads out of it), each read once, bounded, checked by ``formats.images``.
    A missing image is a problem of the file; an unusable one a warning, and it is left out."""

    def __init__(self, path: Path, result: ReadResult) -> None:
        self.path = path
        self.file = str(path)
        self.folder = path.resolve().parent
        self.result = result
        self.loaded: dict[str, str | None] = {}
        self.budget = ImageBudget()  # the file's images together (assemble keeps the build's)

    def _warn(self, line: int, message: str) -> None:
        self.result.warnings.append(problem(self.file, message, line=line))

    def load(self, src: str, line: int) -> str | None:
        """The media name of image ``src`` (as the parser gives it), or None when it is left out."""
        if src in self.loaded:
            return self.loaded[src]
        self.loaded[src] = name = self._load(src, line)
        return name

    def _load(self, src: str, line: int) -> str | None:
        shown = src[:80]
        if not src.strip():
            self._warn(line, "an image without a usable path; write ![description](images/file.png)")
            return None
        if _SCHEME.match(src):
            self._warn(line, f"image {shown!r} is a URL: qaexport shows only image files inside the bank folder; "
                             "save it beside the Markdown file and name it by its path. Left out")
            return None
        relative = urllib.parse.unquote(src)
        if relative.startswith(("/", "\\")) or PureWindowsPath(relative).drive:
            self._warn(line, f"image {shown!r} is an absolute path; name it relative to the Markdown file "
                             "(images/file.png). Left out")
            return None
        candidate = self.folder / relative
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):
            resolved = candidate
        if not resolved.is_relative_to(self.folder):
            self._warn(line, f"image {shown!r} is outside the bank folder ({self.folder}); only files in the "
                             "Markdown file's folder or below are shown (no '..' or symlink out). Left out")
            return None
        try:
            info = resolved.stat()
        except FileNotFoundError:
            self.result.problems.append(problem(self.file, f"image {shown!r} not found (looked for {candidate}); "
                                                           "fix the path or add the file", line=line))
            return None
        except OSError as exc:
            self._warn(line, f"image {shown!r} cannot be read ({exc.strerror or exc}). Left out")
            return None
        if not stat.S_ISREG(info.st_mode):
            self._warn(line, f"image {shown!r} is not a regular file. Left out")
            return None
        if info.st_size > MAX_IMAGE_BYTES:
            self._warn(line, f"image {shown!r} is {mib(info.st_size)}, over the {mib(MAX_IMAGE_BYTES)} limit for one "
                             "image; make it smaller. Left out")
            return None
        if info.st_size > self.budget.bytes_left:
            self._warn(line, f"image {shown!r}: the file's images pass {mib(MAX_IMAGES_TOTAL)} together; "
                             "make them smaller or split the file. Left out")
            return None
        try:
            data = read_limited(resolved, MAX_IMAGE_BYTES, "image")
        except InputError as exc:
            self._warn(line, f"image {shown!r}: {exc.problem.message}. Left out")
            return None
        notes: list[str] = []
        media = accept(data, notes)
        if isinstance(media, Refused):
            self._warn(line, f"image {shown!r}: {media}. Left out")
            return None
        full = "" if media.name in self.result.media else self.budget.admit(len(media.data), media.pixels)
        if full:
            self._warn(line, f"image {shown!r}: {full}. Left out")
            return None
        for note in notes:
            self._warn(line, f"image {shown!r}: {note}")
        self.result.media.setdefault(media.name, media)
        return media.name


def _load_media(path: Path, name: str, line: int, media: dict[str, Media], warnings: list[Problem],
                budget: ImageBudget) -> None:
    """Find ``media/NAME`` beside ``path`` or above it; only bytes whose hash and type match the name load, and only
    within the image limits (``formats/images``: shrunk or left out, with a warning)."""
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
            noticed(candidate, data)
            kind = raster_type(data)
            if not (kind and name == hashlib.sha256(data).hexdigest()[:16] + kind[1]):
                warnings.append(problem(path, f"image {candidate} does not match its name (hash or type); it is "
                                              "not shown. Convert the source again to rewrite it", line=line))
                return
            notes: list[str] = []
            checked = accept(data, notes)
            reason = str(checked) if isinstance(checked, Refused) else budget.admit(len(checked.data), checked.pixels)
            if reason:
                warnings.append(problem(path, f"image {candidate} skipped: {reason}", line=line))
                return
            warnings.extend(problem(path, f"image {candidate}: {note}", line=line) for note in notes)
            media[name] = Media(name, checked.data, checked.mime, checked.pixels)  # the name the HTML gives
            return
        noticed(candidate, None)  # a file put here later would be found: a build manifest checks it is still absent
        if folder.parent == folder:
            break
        folder = folder.parent
    warnings.append(problem(path, f"image {name} not found in a `{MEDIA_FOLDER}/` folder beside the file or above "
                                  "it; it is not shown", line=line))
