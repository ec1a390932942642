"""Allow-list sanitiser for HTML that comes straight from a source (Anki cards): nh3, never regexes on raw input.

``sanitize`` keeps structure and text, drops everything active: no script/style/iframe/object/embed/svg/math/form,
no event handlers or ``style`` attributes (so no CSS ``url()``), links only to http/https/mailto, images only when
their ``src`` is exactly a name in the library's media (content-addressed, so never a path or a URL). The output
is also valid XHTML (void elements self-closed, ``&nbsp;`` as a numeric reference) because EPUB chapters are XML.
The small regular expressions below only ever run on nh3's own canonical serialisation (double-quoted attributes),
never on the input.

``code_blocks`` finds ``<pre><code class="language-x">`` in sanitised HTML so the render layer can highlight it
with the same highlighter as Markdown fences. Nothing here holds rendering-layer state.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import nh3

TAGS = frozenset({
    "a", "abbr", "b", "bdi", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "dfn",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr",
})
# Removed together with their content (everything else unknown keeps its text but loses the tag).
DROP_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript", "textarea", "select",
    "title", "head", "frame", "frameset", "applet", "audio", "video", "canvas",
})
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
    "span": {"class"},
    "div": {"class"},
    "code": {"class"},
    "pre": {"class"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Classes that carry meaning from Anki's renderer (cloze) or from code fences; any other class is dropped so
# content can never borrow qaexport's own CSS (e.g. a class that hides or overlays).
KEEP_CLASSES = frozenset({"cloze", "cloze-inactive", "media-label", "type-in"})
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,32}")
_LINK = re.compile(r"(?i)(https?://|mailto:)[^\s]+")
_NUMBER = re.compile(r"\d{1,4}")

_ATTR = r'(?:\s+[^\s"=<>/]+(?:="[^"]*")?)'
_IMG = re.compile(rf"<img({_ATTR}*)\s*/?>")
_VOID = re.compile(rf"<(br|hr|wbr|col)({_ATTR}*)\s*/?>")
_ATTR_VALUE = re.compile(r'\s([^\s"=<>/]+)(?:="([^"]*)")?')
_BLOCK_TAG = re.compile(r"(?i)</?(?:p|div|br|li|h[1-6]|tr|td|th|dd|dt|blockquote)\b")
_CODE_BLOCK = re.compile(r'<pre>\s*<code class="language-([^"]+)">(.*?)</code>\s*</pre>', re.S)


def _filter(media: set[str]) -> Callable[[str, str, str], str | None]:
    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if attr == "href":
            return value if _LINK.fullmatch(value.strip()) else None
        if attr == "src":
            return value if value in media else None
        if attr in ("width", "height", "colspan", "rowspan", "start"):
            return value if _NUMBER.fullmatch(value.strip()) else None
        if attr == "class":
            kept = [c for c in value.split() if c in KEEP_CLASSES or (tag == "code" and _LANGUAGE_CLASS.fullmatch(c))]
            return " ".join(kept) or None
        return value

    return attribute_filter


def _attrs(raw: str) -> dict[str, str]:
    return {m.group(1): m.group(2) or "" for m in _ATTR_VALUE.finditer(raw)}


def _image(match: re.Match[str]) -> str:
    """An image whose src survived keeps an alt (EPUB wants one); one without a usable src becomes its alt text."""
    attrs = _attrs(match.group(1))
    if "src" not in attrs:
        alt = attrs.get("alt", "")
        return f"[{alt}]" if alt.strip() else ""
    attrs.setdefault("alt", "")
    return "<img" + "".join(f' {k}="{v}"' for k, v in attrs.items()) + " />"


def sanitize(html: str, media: set[str]) -> str:
    """Untrusted HTML → inert, XHTML-serialisable HTML; ``media`` is the set of image names that may be shown."""
    cleaned = nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        attribute_filter=_filter(media),
        url_schemes=set(URL_SCHEMES),
        strip_comments=True,
        link_rel=None,  # books open no windows; and an `a` left without href must carry no rel (EPUB)
    )
    cleaned = _IMG.sub(_image, cleaned)
    cleaned = _VOID.sub(lambda m: f"<{m.group(1)}{m.group(2)} />", cleaned)
    return cleaned.replace("&nbsp;", "&#160;")


_HEADING_TAG = re.compile(r"<(/?)h([1-6])>")


def demote_headings(sanitized: str, top: int) -> str:
    """Headings of sanitised HTML moved so the highest is ``<h{top}>`` and each lower level the next, as the
    Markdown renderer does for books (nh3's canonical output: heading tags carry no attributes here)."""
    used = sorted({int(level) for _, level in _HEADING_TAG.findall(sanitized)})
    if not used:
        return sanitized
    levels = {level: min(6, top + rank) for rank, level in enumerate(used)}
    return _HEADING_TAG.sub(lambda m: f"<{m.group(1)}h{levels[int(m.group(2))]}>", sanitized)


def to_text(html: str) -> str:
    """Plain text of untrusted HTML (deck descriptions): tags dropped, entities decoded, whitespace collapsed."""
    spaced = _BLOCK_TAG.sub(r" \g<0>", html)  # "a<p>b" reads "a b", not "ab"
    text = nh3.clean(spaced, tags=set(), clean_content_tags=set(DROP_WITH_CONTENT))
    return " ".join(html_lib.unescape(text).split())


@dataclass(frozen=True)
class CodeBlock:
    """A ``<pre><code class="language-x">`` block in sanitised HTML: where it is, its language and source text."""

    start: int
    end: int
    language: str
    code: str


def code_blocks(sanitized: str) -> Iterator[CodeBlock]:
    """Code blocks with a language, for highlighting like Markdown fences (replace ``[start:end]`` back to front).

    The inner markup (e.g. ``<br>`` line breaks Anki's editor writes, or stray tags) is reduced to text, so the
    highlighter sees the code a reader would see.
    """
    for m in _CODE_BLOCK.finditer(sanitized):
        inner = re.sub(r"<br\s*/?>", "\n", m.group(2))
        yield CodeBlock(m.start(), m.end(), m.group(1).removeprefix("language-"), html_lib.unescape(
            nh3.clean(inner, tags=set())))


def replace_code_blocks(sanitized: str, fmt: Callable[[str, str], str]) -> str:
    """``sanitized`` with each language-tagged code block replaced by ``fmt(code, language)`` (e.g. highlighted)."""
    out, last = [], 0
    for block in code_blocks(sanitized):
        out += [sanitized[last:block.start], fmt(block.code, block.language)]
        last = block.end
    return "".join(out) + sanitized[last:]


INLINE_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "br", "cite", "code", "del", "dfn", "em", "i", "img", "ins", "kbd", "mark", "q",
    "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub", "sup", "u", "var", "wbr",
})
_BLOCK_TAG_ANY = re.compile(r"</?(?:table|tbody|thead|tfoot|tr|colgroup|col|caption|div|p|ul|ol|li|dl|dt|dd|"
                            r"blockquote|pre|h[1-6]|figure|figcaption|hr)\b[^>]*>")
_CELL_TAG = re.compile(r"<t[dh]\b[^>]*>|</t[dh]>")
_BREAKS = re.compile(r"(?:\s*<br />)+\s*$|^(?:\s*<br />)+\s*")
_MULTI_BREAKS = re.compile(r"(?:<br />\s*){2,}")


def inline(sanitized: str, media: set[str]) -> str:
    """Sanitised HTML reduced to phrasing content (for a question shown inside a heading, as in the EPUB):
    block elements become line breaks, table cells are separated by spaces; text and images stay."""
    text = _BLOCK_TAG_ANY.sub("<br />", _CELL_TAG.sub(" ", sanitized))  # canonical input: tags are regular
    out = sanitize(nh3.clean(text, tags=set(INLINE_TAGS), clean_content_tags=set(DROP_WITH_CONTENT),
                             attributes={k: set(v) for k, v in ATTRIBUTES.items() if k in INLINE_TAGS},
                             link_rel=None), media)
    return _BREAKS.sub("", _MULTI_BREAKS.sub("<br />", out))
