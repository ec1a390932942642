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

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..model import ContentFormat, slugify
from ..records import Node

if TYPE_CHECKING:
    import yaml
    from markdown_it import MarkdownIt

NAME = "markdown"
SUFFIXES = (".md", ".markdown")

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

# A Pandoc-style attribute block ending the heading, preceded by a space (or alone).
_ATTRS = re.compile(r"(?:^|[ \t]+)\{([^{}]*)\}$")
#: The start of what can only be meant as an attribute block (``{#id`` or ``{.difficulty``).
_ATTRS_OPENING = re.compile(r"(?:^|[ \t])\{\s*[#.]")
_ATTR_ITEM = re.compile(r'#(?P<id>[^\s{}]+)|\.(?P<cls>[^\s{}]+)|(?P<key>[A-Za-z][\w-]*)=(?P<val>"[^"]*"|[^\s"{}]+)')
_FRONT_END = ("---", "...")
#: The folder of images of HTML questions, beside a bank file or above it (the writer puts them there).
MEDIA_FOLDER = "media"


def _parser() -> MarkdownIt:
    """The renderer's grammar (``formats/dialect``: CommonMark, raw HTML off, GFM tables, cloze, math), so
    splitting agrees with rendering. Made on first use: this reader loads with every command, and Markdown-it is a
    tenth of a command's start-up."""
    from .dialect import parser

    return parser()


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
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (line, message)

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def warn(self, line: int, message: str) -> None:
        self.warnings.append((line, message))

    def in_file_order(self) -> ParsedFile:
        """Problems and warnings sorted by line (stable), as an author reads the file top to bottom."""
        self.problems.sort(key=lambda item: item[0])
        self.warnings.sort(key=lambda item: item[0])
        return self


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


def _load_yaml(source: str, parsed: ParsedFile) -> tuple[Any, dict[tuple[str, ...], int]]:
    import yaml

    offset = 2  # line 1 is the opening ---, YAML marks are 0-based
    if len(source.encode()) > MAX_FRONT_MATTER_BYTES:
        parsed.problem(1, f"front matter is over {MAX_FRONT_MATTER_BYTES // 1024} KiB; it only names the "
                          "framework, topic and subtopic")
        return None, {}
    try:
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
    except (yaml.YAMLError, RecursionError) as exc:
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
    place = Node(name)
    slug = value.get("slug")
    if slug is not None:
        if _text(slug) is None or not slug or slugify(slug) != slug:
            fix = slugify(str(slug)) or slugify(name)
            parsed.problem(lines.get((level, "slug"), at), f"`{level}.slug` {slug!r} must be lower-case letters, "
                                                           f"digits and single dashes, like {fix!r}")
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
    order = value.get("order")
    if order is not None:
        if isinstance(order, bool) or not isinstance(order, (int, float)) or order != order:
            parsed.problem(lines.get((level, "order"), at), f"`{level}.order` must be a number, got {order!r}")
            ok = False
        else:
            place.order = float(order)
    return place if ok else None


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
            bad = raw[pos:].split()[0]
            parsed.problem(line, f"cannot read heading attribute {bad!r}; write {{#id .easy}} "
                                 f"(an id and one of {DIFFICULTY_CLASSES})")
            return _Attrs(ok=False, given=True)
        if m.group("id"):
            attrs.id = m.group("id")
        elif m.group("cls"):
            if attrs.difficulty is not None:
                parsed.problem(line, f"two difficulties (.{attrs.difficulty} and .{m.group('cls')}); keep one")
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
            parsed.problem(line, f"unknown heading attribute `{m.group(0)}`; only {{#id .difficulty}}, "
                                 f"format={'|'.join(ContentFormat)} and from=KEY are read")
            attrs.ok = False
        pos = m.end()
        while pos < len(raw) and raw[pos].isspace():
            pos += 1
    return attrs


def _heading(content: str, line: int, parsed: ParsedFile) -> tuple[str, _Attrs]:
    m = _ATTRS.search(content)
    if not m:
        opening = _ATTRS_OPENING.search(content)
        if (opening or content.rstrip().endswith("}")) and content.count("{") != content.count("}"):
            # never silently an id, nor silently a heading of the answer: the author meant a question
            start = opening.start() if opening else content.rfind("{") if "{" in content else len(content)
            parsed.problem(line, f"unbalanced braces in the heading's attributes `{content[start:].strip()[:60]}`; "
                                 "write them as {#id .difficulty}, one `{` and one `}` at the end of the line")
            return content[:start].rstrip(), _Attrs(ok=False, given=True)
        return content, _Attrs()
    return content[:m.start()].rstrip(), _attributes(m.group(1), line, parsed)


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


def _body(lines: list[str], first: int, parsed: ParsedFile) -> None:
    """Questions in ``lines[first:]`` (0-based); token line maps are relative to ``first``."""
    tokens = _parser().parse("\n".join(lines[first:]))
    # Top-level blocks with their line maps; a heading's text is the inline token right after it.
    positions = [n for n, t in enumerate(tokens) if t.level == 0 and t.map is not None]
    top = [tokens[n] for n in positions]
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
    start_of_questions = top[heads[0][0]].map[0] if heads else len(lines) - first
    if any(line.strip() for line in lines[first:first + start_of_questions]):
        stray = next(n for n in range(first, first + start_of_questions) if lines[n].strip())
        parsed.problem(stray + 1, "text before the first question; every question starts with a "
                                  "`## Question text {#id .difficulty}` heading")
    for n, (index, text, attrs) in enumerate(heads):
        head = top[index]
        line = head.map[0] + first + 1
        following_end = heads[n + 1][0] if n + 1 < len(heads) else len(top)
        end = top[following_end].map[0] + first if n + 1 < len(heads) else len(lines)
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


def parse_body(text: str) -> ParsedFile:
    """Parse question sections without front matter (the writer checks each section it writes with this)."""
    parsed = ParsedFile()
    _body(text.split("\n"), 0, parsed)
    return parsed.in_file_order()
