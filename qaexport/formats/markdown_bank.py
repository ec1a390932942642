"""The Markdown bank format: one file per subtopic, written by hand and reviewed in git.

A file is YAML front matter that places the subtopic (framework, topic, subtopic), then one
``## Question {#id .difficulty}`` heading per question with its answer below, up to the next
question heading. A ``##`` heading starts a question when it carries attributes (``{…}``) or when no
question has started yet; any other ``##`` (``## Example``) is a heading inside the answer above it,
with a warning where it reads like a forgotten question (it ends with ``?``). The body is split with
markdown-it's own block tokens and their line maps, so a ``## `` line inside a code fence, a list or a
block quote never starts a question, exactly as the renderer would see it. Two escape forms carry texts
a heading cannot hold (several paragraphs, a trailing ``{``…): a heading with attributes only followed
by a ```` ```question ```` fence, and an answer that is a single ```` ```answer ```` fence.

The syntax lives below both of its users: the source (``sources/markdown``) reads files with
:func:`parse_text`, and the writer (``exporters/markdown_bank``) checks every section it writes with
:func:`parse_body`, so neither imports the other.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import SHOWN_CHARS, InputError, shown
from ..limits import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS
from ..model import ContentFormat, slugify
from ..records import Node

if TYPE_CHECKING:
    import yaml
    from markdown_it import MarkdownIt

NAME = "markdown"
SUFFIXES = (".md", ".markdown")

#: Problems listed per file; past it they are counted in one last line.
MAX_PROBLEMS = 1_000
#: Front matter only places a subtopic; a bigger block is a mistake or an attack on the YAML parser.
MAX_FRONT_MATTER_BYTES = 64 * 1024

LEVELS = ("framework", "topic", "subtopic")
#: The optional front matter key naming the books' cover image (relative to the file, like any image).
COVER = "cover"
NODE_KEYS = ("name", "slug", "description", "order")
QUESTION_FENCE = "question"
#: The fence form of a cloze question (a text with ``{{c1::…}}`` deletions): like ``question``, and it must hold one.
CLOZE_FENCE = "cloze"
#: The class that says "this question has no difficulty" (Anki cards have none); a heading without any
#: difficulty class is an error, so a forgotten one is never silent.
UNRATED = "unrated"
#: How messages list the difficulty classes a heading may carry.
DIFFICULTY_CLASSES = f".easy, .medium, .hard or .{UNRATED}"
ANSWER_FENCE = "answer"

_ATTR_ITEM = re.compile(r'#(?P<id>[^\s{}]+)|\.(?P<cls>[^\s{}]+)|(?P<key>[A-Za-z][\w-]*)=(?P<val>"[^"]*"|[^\s"{}]+)')
_FRONT_END = ("---", "...")
#: The folder of images of HTML questions, beside a bank file or above it (the writer puts them there).
MEDIA_FOLDER = "media"


def _parser() -> MarkdownIt:
    """The renderer's grammar (``formats/dialect``: CommonMark, raw HTML off, GFM tables, cloze, math), so
    splitting agrees with rendering. Made on first use: this reader loads with every command, and Markdown-it is a
    tenth of a command's start-up. An instance of its own: splitting needs the blocks and each heading's raw text,
    never the inline parse (emphasis, links), whose cost on a long line of `*_` is what the size limits exist to
    refuse (they are checked after the split)."""
    from markdown_it import MarkdownIt

    from .dialect import extend

    md = extend(MarkdownIt("commonmark", {"html": False}))
    md.core.ruler.disable(["inline"])
    return md


@dataclass
class ParsedQuestion:
    id: str | None
    difficulty: str | None  # the raw class (".hard" → "hard"); None when the heading has none
    question: str
    answer: str
    line: int  # 1-based line of the heading
    format: ContentFormat = ContentFormat.MARKDOWN
    origin: str | None = None  # from=KEY: the key a moved question was first exported under
    cloze: bool = False  # the question text holds {{cN::…}} deletions
    answer_line: int = 0  # 1-based line where the answer text starts (0: no answer)


@dataclass
class ParsedFile:
    """One file's content and everything wrong with it, each problem located at FILE:LINE."""

    places: dict[str, Node] = field(default_factory=dict)
    cover: tuple[str, int] | None = None  # the front matter's `cover:` image path and its line
    questions: list[ParsedQuestion] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    untold: int = 0  # problems past MAX_PROBLEMS, counted only
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    untold_warnings: int = 0  # warnings past MAX_PROBLEMS, counted only

    def problem(self, line: int, message: str) -> None:
        self.untold = _capped(self.problems, self.untold, line, message, "problem", "fix the ones above first")

    def warn(self, line: int, message: str) -> None:
        self.untold_warnings = _capped(self.warnings, self.untold_warnings, line, message, "warning",
                                       "see the ones above")

    def in_file_order(self) -> ParsedFile:
        """Problems and warnings sorted by line (stable), as an author reads the file top to bottom (the line that
        counts those not told stays last)."""
        for found, untold in ((self.problems, self.untold), (self.warnings, self.untold_warnings)):
            told = len(found) - (1 if untold else 0)
            found[:told] = sorted(found[:told], key=lambda item: item[0])
        return self


def _capped(found: list[tuple[int, str]], untold: int, line: int, message: str, what: str, advice: str) -> int:
    """``message`` added to ``found`` while it holds fewer than ``MAX_PROBLEMS``; past that, one last line counts the
    rest (a file of a million mistakes gets a bounded report). Returns the new count of those not told."""
    if len(found) < MAX_PROBLEMS:
        found.append((line, message))
        return untold
    untold += 1
    last = f"and {untold:,} more {what}{'s' if untold > 1 else ''} in this file; {advice}"
    if untold == 1:
        found.append((line, last))
    else:
        found[-1] = (found[-1][0], last)
    return untold


def decode(raw: bytes, where: str) -> str:
    """UTF-8 text with LF line ends; binary data and invalid UTF-8 are refused with a position."""
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise InputError(f"{where}:{line}", "binary data (NUL byte), not a Markdown bank; give a UTF-8 text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{where}:{line}", f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x}); "
                                            "save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------------------------------------- front matter


def _split_front_matter(text: str, parsed: ParsedFile) -> tuple[str | None, int]:
    """The YAML text and the 0-based line where the body starts."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        parsed.problem(1, "no YAML front matter; start the file with a `---` line, then "
                          "`framework:`, `topic:` and `subtopic:` names, then `---`")
        return None, 0
    for n in range(1, len(lines)):
        if lines[n].rstrip() in _FRONT_END:
            return "\n".join(lines[1:n]), n + 1
    parsed.problem(1, "front matter is not closed; add a `---` line after the subtopic's place")
    return None, len(lines)


def _key_lines(node: yaml.Node, offset: int) -> dict[tuple[str, ...], int]:
    """1-based file lines of the mapping keys, two levels deep, for precise messages."""
    import yaml  # PyYAML loads with the first Markdown file, not with every command

    out: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out[(key.value,)] = key.start_mark.line + offset
                if isinstance(value, yaml.MappingNode):
                    for sub_key, _ in value.value:
                        if isinstance(sub_key, yaml.ScalarNode):
                            out[(key.value, sub_key.value)] = sub_key.start_mark.line + offset
    return out


#: Digits a number in front matter may have (``order: 3``); a longer one is refused before it is converted.
MAX_NUMBER_CHARS = 40
#: Levels of lists and mappings front matter may nest (it needs two: ``framework: {name: …, slug: …}``). Deeper is
#: refused while the events stream, before PyYAML's scanner (quadratic in the flow depth: 5,000 ``[`` took 7-25 s)
#: or its recursive composer (``RecursionError``) gets there.
MAX_FRONT_MATTER_DEPTH = 20
_NUMBER_CHARS = frozenset("0123456789_.+-eE")


def _refused_yaml(source: str, offset: int) -> tuple[int, str] | None:
    """(line, message) for what front matter may not hold, found in one pass over the YAML events before
    anything is built: anchors and aliases (a few hundred bytes of them expand to gigabytes, a "billion
    laughs"; front matter only names three places and has no use for them), numbers too long to convert, and
    nesting deeper than :data:`MAX_FRONT_MATTER_DEPTH` (found at its first event, so it costs nothing)."""
    import yaml

    depth = 0
    for event in yaml.parse(source, Loader=yaml.SafeLoader):
        line = event.start_mark.line + offset
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_FRONT_MATTER_DEPTH:
                return line, (f"front matter nests lists or mappings more than {MAX_FRONT_MATTER_DEPTH} levels deep; "
                              "it only names the framework, topic and subtopic (`framework: {name: F, slug: f}`)")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            return line, ("front matter uses a YAML anchor or alias (`&name` / `*name`); write each value out "
                          "instead")
        if isinstance(event, yaml.ScalarEvent) and event.implicit[0] and len(event.value) > MAX_NUMBER_CHARS \
                and set(event.value) <= _NUMBER_CHARS and any(c.isdigit() for c in event.value):
            return line, (f"number of {len(event.value):,} characters in front matter; an `order` is a small "
                          "number such as 3")
    return None


def _load_yaml(source: str, parsed: ParsedFile) -> tuple[Any, dict[tuple[str, ...], int]]:
    import yaml

    offset = 2  # line 1 is the opening ---, YAML marks are 0-based
    if len(source.encode()) > MAX_FRONT_MATTER_BYTES:
        parsed.problem(1, f"front matter is over {MAX_FRONT_MATTER_BYTES // 1024} KiB; it only names the "
                          "framework, topic and subtopic")
        return None, {}
    try:
        refused = _refused_yaml(source, offset)
        if refused:
            parsed.problem(*refused)
            return None, {}
        data = yaml.safe_load(source)
        lines = _key_lines(yaml.compose(source, Loader=yaml.SafeLoader), offset)
    except yaml.MarkedYAMLError as exc:
        # An unclosed quote or bracket is found where the text ends; the author needs where it opened.
        opened = exc.context_mark if "quoted scalar" in (exc.context or "") or "flow" in (exc.context or "") else None
        mark = opened or exc.problem_mark or exc.context_mark
        line = mark.line + offset if mark else 1
        parsed.problem(line, f"front matter is not valid YAML: {exc.problem or exc.context}; "
                             f"{_yaml_hint(exc.problem or '', exc.context or '')}")
        return None, {}
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        parsed.problem(1, f"front matter is not valid YAML ({type(exc).__name__}); "
                          "fix the block between the `---` lines")
        return None, {}
    return data, lines


#: What usually causes each of PyYAML's complaints in a front matter, and what to write instead.
_YAML_HINTS = (
    ("mapping values are not allowed", "a value holds ': '; put that text in quotes (name: \"Django: ORM\")"),
    ("'\\t'", "YAML indents with spaces, never tabs; replace the tab with spaces"),
    ("could not determine a constructor", "tags (`!!…`) are not allowed; write plain text, in quotes if needed"),
    ("undefined alias", "`*` starts a YAML alias; put text that starts with `*` in quotes"),
    ("flow sequence", "a `[` is never closed; put text that starts with `[` in quotes"),
    ("flow mapping", "a `{` is never closed; put text that starts with `{` in quotes"),
    ("quoted scalar", "a quote is never closed; end the quoted text with the same quote on its line"),
    ("expected <block end>", "the indentation does not line up, or text starts with `{`, `[` or `-`; indent "
                             "name, slug, order and description by the same spaces under their level, and put "
                             "such text in quotes"),
)


def _yaml_hint(problem_text: str, context: str) -> str:
    """The fix for the problem PyYAML reports (a generic hint named the wrong cause half the time)."""
    said = f"{problem_text}\n{context}"
    for clue, hint in _YAML_HINTS:
        if clue in said:
            return hint
    start = re.search(r"found character '(.)' that cannot start any token", problem_text)
    if start:
        return f"text cannot start with {start.group(1)!r}; put it in quotes"
    return "fix that line of the block between the `---` lines; text with special characters goes in quotes"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _place(level: str, value: Any, lines: dict[tuple[str, ...], int], parsed: ParsedFile) -> Node | None:
    at = lines.get((level,), 1)
    if isinstance(value, str):  # shorthand: `topic: Deployment`
        value = {"name": value}
    if not isinstance(value, dict):
        parsed.problem(at, f"`{level}` must be a name or a mapping with name, slug, description, order; "
                           f"write `{level}: Some name`")
        return None
    ok = True
    for key in value:
        if key not in NODE_KEYS:
            parsed.problem(lines.get((level, str(key)), at), f"unknown key `{level}.{key}`; use "
                                                             f"{', '.join(NODE_KEYS)}")
            ok = False
    name = value.get("name")
    if name is None:
        parsed.problem(at, f"missing front matter key `{level}.name`; give the {level} a name")
        return None
    if _text(name) is None or not name.strip():
        parsed.problem(lines.get((level, "name"), at), f"`{level}.name` must be non-empty text; quote it")
        return None
    place = Node(name, line=lines.get((level, "name"), at))
    slug = value.get("slug")
    if slug is not None:
        if _text(slug) is None or not slug or slugify(slug) != slug:
            fix = slugify(str(slug)) or slugify(name)
            parsed.problem(lines.get((level, "slug"), at), f"`{level}.slug` {shown(slug)} must be lower-case "
                                                           f"letters, digits and single dashes, like {shown(fix)}")
            ok = False
        else:
            place.slug = slug
    description = value.get("description")
    if description is not None:
        if _text(description) is None:
            parsed.problem(lines.get((level, "description"), at), f"`{level}.description` must be text; quote it")
            ok = False
        else:
            place.description = description
            _warn_of_images(parsed, lines.get((level, "description"), at), level, description)
    order = value.get("order")
    if order is not None:
        if isinstance(order, bool) or not isinstance(order, (int, float)) or not math.isfinite(order):
            parsed.problem(lines.get((level, "order"), at), f"`{level}.order` must be a number, got {shown(order)}")
            ok = False
        else:
            place.order = float(order)
    return place if ok else None



def _warn_of_images(parsed: ParsedFile, line: int, level: str, description: str) -> None:
    """A description is inline text (code, emphasis, links, math): an image in it is never shown, whatever it names,
    and prints as ``[image: …]``; said once per image, as a question's image left out is (trial11 #6: no word)."""
    if "![" not in description:
        return
    from .dialect import scan

    for image in scan(description).images:
        alt = image.alt[:SHOWN_CHARS] or "no description"
        parsed.warn(line, f"`{level}.description` shows an image ({shown(image.src)}), which a description never "
                          f"shows: it prints as [image: {alt}]; remove it, or show the image in a question")

def _front_matter(source: str, parsed: ParsedFile) -> None:
    data, lines = _load_yaml(source, parsed)
    if data is None and not parsed.problems:
        data = {}
    if data is None:
        return
    if not isinstance(data, dict):
        parsed.problem(2, "front matter must be a mapping with `framework:`, `topic:` and `subtopic:`")
        return
    for key in data:
        if key not in LEVELS and key != COVER:
            parsed.problem(lines.get((str(key),), 2), f"unknown front matter key `{key}`; use "
                                                      "framework, topic and subtopic (and cover)")
    if COVER in data:
        cover = data[COVER]
        at = lines.get((COVER,), 2)
        if not isinstance(cover, str) or not cover.strip():
            parsed.problem(at, "`cover` must be the path of an image beside the file, like images/cover.png")
        else:
            parsed.cover = (cover.strip(), at)
    for level in LEVELS:
        if level not in data:
            parsed.problem(2, f"missing front matter key `{level}`; add `{level}: Name`")
            continue
        place = _place(level, data[level], lines, parsed)
        if place is not None:
            parsed.places[level] = place


# ---------------------------------------------------------------------------------------------- questions


@dataclass
class _Attrs:
    id: str | None = None
    difficulty: str | None = None
    format: ContentFormat = ContentFormat.MARKDOWN
    origin: str | None = None
    ok: bool = True
    given: bool = False  # the heading ends with an attribute block: it starts a question


def _attributes(raw: str, line: int, parsed: ParsedFile) -> _Attrs:
    """``#id``, one ``.difficulty`` class, an optional ``format=html`` and an optional ``from=KEY`` (the key a
    moved question was first exported under, so it keeps its Anki note) from the inside of ``{…}``."""
    attrs = _Attrs(given=True)
    pos, raw = 0, raw.strip()
    while pos < len(raw):
        m = _ATTR_ITEM.match(raw, pos)
        if not m:
            bad = raw[pos:pos + SHOWN_CHARS * 2].split()[0]
            parsed.problem(line, f"cannot read heading attribute {shown(bad)}; write {{#id .easy}} "
                                 f"(an id and one of {DIFFICULTY_CLASSES})")
            return _Attrs(ok=False, given=True)
        if m.group("id"):
            attrs.id = m.group("id")
        elif m.group("cls"):
            if attrs.difficulty is not None:
                parsed.problem(line, f"two difficulties ({shown('.' + attrs.difficulty)} and "
                                     f"{shown('.' + m.group('cls'))}); keep one")
                attrs.ok = False
            attrs.difficulty = m.group("cls")
        elif m.group("key") == "format" and m.group("val").strip('"') in set(ContentFormat):
            attrs.format = ContentFormat(m.group("val").strip('"'))
        elif m.group("key") == "from":
            if attrs.origin is not None:
                parsed.problem(line, "two from= attributes; keep the key the question was first exported under")
                attrs.ok = False
            attrs.origin = m.group("val").strip('"')
        else:
            parsed.problem(line, f"unknown heading attribute {shown(m.group(0))}; only {{#id .difficulty}}, "
                                 f"format={'|'.join(ContentFormat)} and from=KEY are read")
            attrs.ok = False
        pos = m.end()
        while pos < len(raw) and raw[pos].isspace():
            pos += 1
    return attrs


def split_attributes(content: str) -> tuple[str, str | None, str]:
    """A heading's text and the inside of the Pandoc-style ``{…}`` block ending it (None when there is none), or a
    message when its braces do not pair up. Linear: the block is found from its end, never by searching.

    The block is the last ``{`` up to a final ``}``, at the start or after a space (``f{x}`` is text). A final ``}``
    with no ``{``, a brace inside the block (``{#a}}``, ``{{#a}``) or a block that opens with ``#`` or ``.`` and is
    never closed is an error: a typo there must not silently turn the heading's text into an id."""
    text = content.rstrip(" \t")
    if not text.endswith("}"):
        start = text.rfind("{")
        if start != -1 and (start == 0 or text[start - 1] in " \t") and text[start + 1:start + 2] in ("#", "."):
            return text, None, (f"unbalanced braces in the heading's attributes `{text[start:][:60]}`: the block is "
                                "not closed; end it with `}`")
        return text, None, ""
    start = text.rfind("{")
    if start == -1:
        return text, None, ("unbalanced braces in the heading's attributes: it ends with `}` but has no `{`; write "
                            "them as {#id .difficulty} at the end of the line")
    if start > 0 and text[start - 1] not in " \t{":
        return text, None, ""  # ``f{x}``: braces in the text, no attribute block
    inside = text[start + 1:-1]
    if "}" in inside or (start > 0 and text[start - 1] == "{"):
        shown_from = start - 1 if start > 0 and text[start - 1] == "{" else start
        return text, None, (f"unbalanced braces in the heading's attributes `{text[shown_from:][:60]}`; write them as "
                            "{#id .difficulty}, one `{` and one `}` at the end of the line")
    return text[:start].rstrip(" \t"), inside, ""


def _heading(content: str, line: int, parsed: ParsedFile) -> tuple[str, _Attrs]:
    text, inside, wrong = split_attributes(content)
    if wrong:  # never silently an id, nor silently a heading of the answer: the author meant a question
        parsed.problem(line, wrong)
        return text, _Attrs(ok=False, given=True)
    if inside is None:
        return text, _Attrs()
    return text, _attributes(inside, line, parsed)


def _fence_text(token: Any) -> str:
    return token.content[:-1] if token.content.endswith("\n") else token.content


def _is_question_heading(token: Any) -> bool:
    return token.type == "heading_open" and token.tag == "h2" and token.level == 0 and token.markup == "##"


def _region(lines: list[str], start: int, end: int) -> str:
    """Source lines [start, end) without leading blank lines and trailing whitespace."""
    chunk = lines[start:end]
    while chunk and not chunk[0].strip():
        chunk.pop(0)
    return "\n".join(chunk).rstrip()


def _fence_opening(line: str) -> tuple[str, int] | None:
    """(character, length) of a fence that ``line`` opens (0–3 spaces, then 3+ backticks or tildes), or None."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3 or stripped[:3] not in ("```", "~~~"):
        return None
    char = stripped[0]
    length = len(stripped) - len(stripped.lstrip(char))
    if char == "`" and "`" in stripped[length:]:
        return None  # a backtick fence's info string holds no backtick (it is inline code)
    return char, length


# Block-quote and list-item markers at a line's start (the math rule reads a $$ block after them too).
_CONTAINER_MARKS = re.compile(r"^(?:[ \t]*(?:>|(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$)))*")


def _starts_question(line: str) -> bool:
    """Whether a ``##`` line ends with an attribute block (or a broken one): such a heading starts a question; one
    without is a heading of the answer before it (``_answer_heading``), so a piece never starts there."""
    _text, inside, wrong = split_attributes(line[2:])
    return inside is not None or bool(wrong)


def _sections(lines: list[str], first: int) -> list[int]:
    """Lines (0-based) where a top-level ``##`` heading may start a question: ``##`` at the line's start with an
    attribute block (``_starts_question``), outside a fence or a ``$$`` math block opened before it. Only these can
    cut the body without changing how it parses: such a line ends any list, quote or paragraph before it (only a
    fence or a math block can hold it). Cutting at fewer of them than there are is harmless (a piece holds several
    questions), so the scan errs that way. Fences are followed as CommonMark opens and closes them (a piece that
    ends inside one after all is read on: ``_piece``). A math block may open after list or quote markers and its
    closing line may open another, so the scan does not follow it: from a line that may open one until a blank line
    or a line that can only close one, nothing is cut."""
    cuts, fence = [], None
    math = False  # a $$ block may be open
    for n in range(first, len(lines)):
        line = lines[n]
        text = _CONTAINER_MARKS.sub("", line, count=1).strip()
        opens = text.startswith("$$") and not (len(text) > 3 and text.endswith("$$"))
        closes = line.rstrip().endswith("$$")
        heading = line == "##" or line.startswith(("## ", "##\t"))
        if fence is not None:
            stripped = line.lstrip(" ")
            if len(line) - len(stripped) <= 3 and stripped.startswith(fence[0] * fence[1]) and \
                    not stripped.strip().strip(fence[0]):
                fence = None
        elif heading and not math:
            if _starts_question(line):
                cuts.append(n)
        elif not heading:
            fence = _fence_opening(line)
        if not line.strip():
            math = False
        elif math:
            math = not closes or opens
        else:
            math = opens
    return cuts


#: Body text parsed at a time: markdown-it's tokens cost some 300 bytes per byte of text, so a big file is parsed
#: in pieces cut at question headings (see ``_sections``), each piece at most about this long.
PIECE_CHARS = 256 * 1024
#: A question's section (heading, question and answer) longer than this is refused before it is parsed.
MAX_SECTION_CHARS = MAX_QUESTION_CHARS + MAX_ANSWER_CHARS + 4096


def _body(lines: list[str], first: int, parsed: ParsedFile) -> None:
    """Questions in ``lines[first:]`` (0-based), parsed in pieces of whole question sections.

    ``_sections`` guesses the fences from their lines alone; a fence opened inside a list item (indented) can fool
    it. So each piece is checked where it is cut: if markdown-it finds it ending inside a fence opened at the top
    (which would have held the next ``##`` line), the piece is parsed again up to that fence's closing line."""
    cuts = set(_sections(lines, first))
    bounds = [*sorted(c for c in cuts if c > first), len(lines)]
    piece_start, size, before, i = first, 0, True, 0
    start = first
    while i < len(bounds):
        end = bounds[i]
        length = sum(len(line) + 1 for line in lines[start:end])
        if length > MAX_SECTION_CHARS:  # refused before markdown-it sees it
            if start > piece_start:
                reach = _piece(lines, piece_start, start, parsed, before, bounds)
                if reach > start:  # the piece before it holds it in a fence after all
                    start, piece_start, before, size = reach, reach, False, 0
                    i = bisect.bisect_right(bounds, reach)
                    continue
            what = "question section" if start in cuts else "text before the first `##` question heading"
            parsed.problem(start + 1, f"{what} is {length:,} characters, over the {MAX_SECTION_CHARS:,} limit; "
                                      "shorten it or split the question")
            start = piece_start = end
            size, before, i = 0, False, i + 1
            continue
        if size and size + length > PIECE_CHARS:
            reach = _piece(lines, piece_start, start, parsed, before, bounds)
            piece_start, size, before = max(start, reach), 0, False
            if reach > start:
                start = reach
                i = bisect.bisect_right(bounds, reach)
                continue
        size += length
        start, i = end, i + 1
    if piece_start < len(lines):
        _piece(lines, piece_start, len(lines), parsed, before, bounds)


def _fence_end(lines: list[str], start: int, markup: str) -> int:
    """The line after the one that closes a fence opened with ``markup``, searching from ``start``; else the end."""
    char, length = markup[0], len(markup)
    for n in range(start, len(lines)):
        stripped = lines[n].lstrip(" ")
        if len(lines[n]) - len(stripped) <= 3 and stripped.startswith(char * length) and \
                not stripped.rstrip(" \t").strip(char):
            return n + 1
    return len(lines)


def _piece(lines: list[str], first: int, last: int, parsed: ParsedFile, before: bool, cuts: list[int]) -> int:
    """Questions in ``lines[first:last]``; with ``before``, text ahead of the first question is reported. Returns
    ``last``, or, when the piece ends inside a fence opened at the top level, the next cut (``cuts``, sorted) after
    that fence's end: the piece is then read up to there, as one whole parse would have read it."""
    while True:
        tokens = _parser().parse("\n".join(lines[first:last]))
        # Top-level blocks with their line maps; a heading's text is the inline token right after it.
        positions = [n for n, t in enumerate(tokens) if t.level == 0 and t.map is not None]
        top = [tokens[n] for n in positions]
        if not (last < len(lines) and top and top[-1].type == "fence" and
                not _closes(lines, first + top[-1].map[0], first + top[-1].map[1], top[-1].markup)):
            break  # (markdown-it ends a fence that is never closed at the text's end, blank lines left out)
        reach = _fence_end(lines, last, top[-1].markup)
        following = bisect.bisect_left(cuts, reach)
        last = cuts[following] if following < len(cuts) else len(lines)
    if last == len(lines) and top and top[-1].type == "fence" and \
            not _closes(lines, first + top[-1].map[0], first + top[-1].map[1], top[-1].markup):
        _unclosed_fence(lines, first + top[-1].map[0], top[-1].markup, parsed)
    # Every top-level `##` is read (its attributes checked); those with attributes, and the first, start questions.
    heads: list[tuple[int, str, _Attrs]] = []
    for i, t in enumerate(top):
        if _is_question_heading(t):
            line = t.map[0] + first + 1
            text, attrs = _heading(tokens[positions[i] + 1].content, line, parsed)
            if attrs.given or not heads:
                heads.append((i, text, attrs))
            else:
                _answer_heading(text, line, heads[-1], top, first, parsed)
    start_of_questions = top[heads[0][0]].map[0] if heads else last - first
    if before and any(line.strip() for line in lines[first:first + start_of_questions]):
        stray = next(n for n in range(first, first + start_of_questions) if lines[n].strip())
        parsed.problem(stray + 1, "text before the first question; every question starts with a "
                                  "`## Question text {#id .difficulty}` heading")
    for n, (index, text, attrs) in enumerate(heads):
        head = top[index]
        line = head.map[0] + first + 1
        following_end = heads[n + 1][0] if n + 1 < len(heads) else len(top)
        end = top[following_end].map[0] + first if n + 1 < len(heads) else last
        following = top[index + 1:following_end]
        ok = attrs.ok
        answer_start = head.map[1] + first
        fence = ""
        text_line = line
        if not text:
            if following and following[0].type == "fence" and following[0].info.strip() in (QUESTION_FENCE,
                                                                                              CLOZE_FENCE):
                fence = following[0].info.strip()
                text = _fence_text(following[0])
                text_line = following[0].map[0] + first + 2
                answer_start = following[0].map[1] + first
                following = following[1:]
            else:
                parsed.problem(line, "heading has no question text; write it before the {…} attributes, or in a "
                                     f"```{QUESTION_FENCE} (or ```{CLOZE_FENCE}) fence right below the heading")
                ok = False
        cloze = _cloze_check(text, attrs.format, text_line, fence, parsed) if text else None
        ok = ok and cloze is not None
        answer_line = 0
        if len(following) == 1 and following[0].type == "fence" and following[0].info.strip() == ANSWER_FENCE:
            answer = _fence_text(following[0])
            answer_line = following[0].map[0] + first + 2
        else:
            answer = _region(lines, answer_start, end)
            answer_line = next((n + 1 for n in range(answer_start, end) if lines[n].strip()), 0)
        if not answer.strip() and cloze is False:  # (None: a bad cloze, already reported)
            parsed.problem(line, "question has no answer; write it below the heading, before the next question")
            ok = False
        if ok:
            parsed.questions.append(ParsedQuestion(attrs.id, attrs.difficulty, text, answer, line, attrs.format,
                                                   attrs.origin, bool(cloze),
                                                   answer_line if answer.strip() else 0))
    return last


def _unclosed_fence(lines: list[str], opening: int, markup: str, parsed: ParsedFile) -> None:
    """A fence opened at line ``opening`` (0-based) at the top level and never closed runs to the end of the file, so
    every line below it is code: a question heading there is lost without a word (an error naming it); a fence that
    holds no line reading like a question is still most likely a mistake (a warning). Only the file's last piece can
    end in such a fence, so the lines below it are looked at once (the parse stays linear)."""
    heading = next((n for n in range(opening + 1, len(lines))
                    if lines[n].startswith(("## ", "##\t")) and
                    (_starts_question(lines[n]) or lines[n].rstrip().endswith("?"))), None)
    if heading is not None:
        parsed.problem(opening + 1, f"this code fence is never closed, so the question heading at line {heading + 1} "
                                    f"is read as code; close the fence with {markup} before it")
    else:
        parsed.warn(opening + 1, f"this code fence is never closed, so everything below it to the end of the file is "
                                 f"code; close it with {markup} where the code ends")


def _closes(lines: list[str], opening: int, last: int, markup: str) -> bool:
    """Whether the fence opened at line ``opening`` is closed by line ``last - 1`` (its last line)."""
    if last - opening < 2:
        return False
    stripped = lines[last - 1].lstrip(" ")
    return len(lines[last - 1]) - len(stripped) <= 3 and stripped.startswith(markup) and \
        not stripped.rstrip(" \t").strip(markup[0])


def _cloze_check(text: str, fmt: ContentFormat, line: int, fence: str, parsed: ParsedFile) -> bool | None:
    """Whether the question text is a cloze (holds deletions); None, with the problems recorded, when one of its
    deletions is malformed or a ```cloze fence holds none."""
    from .cloze import MAX_DELETIONS, count_deletions, has_cloze_marker, html_numbers

    if not has_cloze_marker(text):
        if fence == CLOZE_FENCE:
            parsed.problem(line, "a ```cloze fence without a deletion; mark the words to hide as "
                                 "{{c1::answer}} (or use a ```question fence)")
            return None
        return False
    if count_deletions(text) > MAX_DELETIONS:
        parsed.problem(line, f"more than {MAX_DELETIONS:,} cloze deletions in one question; split it")
        return None
    if fmt is ContentFormat.HTML:
        return bool(html_numbers(text))
    from .dialect import scan

    found = scan(text)
    for offset, message in found.problems:
        parsed.problem(line + offset, message)
    if found.problems:
        return None
    if not found.numbers and fence == CLOZE_FENCE:
        parsed.problem(line, "a ```cloze fence without a deletion; mark the words to hide as {{c1::answer}}")
        return None
    return bool(found.numbers)


def _answer_heading(text: str, line: int, question: tuple[int, str, _Attrs], top: list[Any], first: int,
                    parsed: ParsedFile) -> None:
    """A `##` without attributes after a question is a heading of that question's answer (``## Example``).
    Only one that reads like a question of its own is ambiguous enough to say so."""
    if not text.rstrip().endswith("?"):
        return
    index, _, attrs = question
    owner = f"question {attrs.id!r}" if attrs.id else "the question"
    parsed.warn(line, f"`## {text[:60]}` has no {{#id .difficulty}}, so it is a heading inside the answer of "
                      f"{owner} (line {top[index].map[0] + first + 1}); add {{#id .difficulty}} if it is a "
                      "question of its own, or write `###` for a heading of the answer")


def parse_text(text: str) -> ParsedFile:
    """Parse one bank file's text (LF line ends); problems carry 1-based lines."""
    parsed = ParsedFile()
    front, body_start = _split_front_matter(text, parsed)
    if front is not None:
        _front_matter(front, parsed)
    _body(text.split("\n"), body_start, parsed)
    return parsed.in_file_order()


def cover_reference(text: str) -> str | None:
    """The image path a bank file's front matter names as the cover, as written (None: none, or bad front matter).
    A deck's stored original tells its cover by it when the file is written again in canonical form."""
    parsed = ParsedFile()
    front, _start = _split_front_matter(text, parsed)
    if front is not None:
        _front_matter(front, parsed)
    return parsed.cover[0] if parsed.cover else None


def parse_body(text: str) -> ParsedFile:
    """Parse question sections without front matter (the writer checks each section it writes with this)."""
    parsed = ParsedFile()
    _body(text.split("\n"), 0, parsed)
    return parsed.in_file_order()
