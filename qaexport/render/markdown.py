"""The one Markdown renderer: CommonMark + GFM tables, raw HTML shown as text, safe links.

Input is untrusted web content. Raw HTML is escaped (``html=False``), only http, https
and mailto links survive (bare ``https://…`` URLs become links too, through linkify-it;
no fuzzy matching, so ``app.py`` stays text), and an image shows only the library media the
reader loaded for it (``env["images"]``), so no output format ever fetches what the content
points at. Cloze deletions and formulas are rendered per scheme (``render/math``). Output is
XHTML-compatible so the EPUB can use it unchanged.

Headings in an answer sit below the question's own heading: in the book scheme (``compact``)
the answer's highest heading level becomes ``<h3>`` (questions are ``<h2>`` in the EPUB) and each
lower level the next one. Anki's notes keep the author's levels (``portable``: changing
stored HTML would update every note); its card CSS sizes them below the question instead.

Each text is parsed once; the token stream is then rendered once per class scheme the run
needs, with the scheme in markdown-it's ``env``. Code blocks (fenced or indented: the same
HTML) are lexed once, the lexed tokens kept on the block's token between renders.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from html import escape

from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.rules_core.normalize import normalize as normalize_rule
from markdown_it.rules_inline.image import image as image_rule
from markdown_it.token import Token

from ..characters import clean_text
from ..formats.cloze import BLANK
from ..formats.dialect import extend
from ..formats.math import DISPLAY_TOKENS, MATH_TOKENS
from .highlight import Highlighter
from .math import formula
from .schemes import Scheme

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_LEXED = "qaexport.lexed"


class _SafeMarkdownIt(MarkdownIt):
    """Links only to http, https and mailto; an image's path is kept as written (it only ever names the library
    media the reader loaded for it, through ``env["images"]``, never a file or URL of its own)."""

    reading_image = False

    def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it's name)
        return self.reading_image or url.strip().lower().startswith(_SAFE_SCHEMES)


def _image_rule(original):
    def image(state, silent: bool) -> bool:
        md = state.md
        md.reading_image = True
        try:
            return original(state, silent)
        finally:
            md.reading_image = False

    return image


def _image(self, tokens, idx, options, env) -> str:
    """An image the reader loaded: ``<img>`` of its media name with the alt text as its accessible name. Any
    other (a URL, a file left out) prints as its alt text."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    name = env.get("images", {}).get(token.attrGet("src") or "")
    if name is None:
        return f'<span class="image-missing">[image: {escape(alt or "no description", quote=False)}]</span>'
    return f'<img src="{escape(name)}" alt="{escape(alt)}" />'


#: The level an answer's highest heading takes in books: one below the question's ``<h2>``.
ANSWER_TOP_LEVEL = 3


def _math(display: bool):
    def render(_renderer, tokens: Sequence[Token], idx: int, _options, env: dict) -> str:
        if env.get("math_as_source"):  # plain text wants the formula as written
            mark = "$$" if display else "$"
            return escape(f"{mark}{tokens[idx].content.strip()}{mark}", quote=False)
        html = formula(tokens[idx].content, display, env["scheme"])
        if tokens[idx].type in ("math_block", "math_block_label"):
            return f'<div class="math-block">{html}</div>\n'
        return html

    return render


def _cloze_open(_renderer, tokens: Sequence[Token], idx: int, _options, env: dict) -> str:
    if env.get("cloze") == ANKI:
        return f"\x02{tokens[idx].meta['number']}\x03"
    return '<span class="cloze">'


def _cloze_close(_renderer, tokens: Sequence[Token], idx: int, _options, env: dict) -> str:
    if env.get("cloze") == ANKI:
        hint = tokens[idx].meta["hint"]
        return (f"\x04{escape(hint, quote=False)}" if hint else "") + "\x05"
    return "</span>"


def _cloze_blank(_renderer, tokens: Sequence[Token], idx: int, _options, env: dict) -> str:
    hint = tokens[idx].meta["hint"]
    shown = f"[{escape(hint, quote=False)}]" if hint else BLANK
    return f'<span class="cloze">{shown}</span>'


#: How a cloze text is rendered: deletions blanked (the question), filled and marked (the answer), or in Anki's
#: own syntax (the Cloze note's Text field).
BLANKED, FILLED, ANKI = "blanked", "filled", "anki"
_SENTINELS = re.compile("\x02(\\d+)\x03|\x04|\x05")


def anki_cloze(html: str) -> str:
    """Rendered cloze HTML in Anki's syntax: every brace and ``::`` of the content becomes an entity (Anki's cloze
    reader sees only the deletions qaexport wrote; the browser and MathJax see the same characters), then the
    renderer's markers become ``{{cN::``, ``::`` and ``}}``."""
    html = html.replace("{", "&#123;").replace("}", "&#125;").replace("::", ":&#58;")
    return _SENTINELS.sub(lambda m: f"{{{{c{m.group(1)}::" if m.group(1) else ("::" if m.group(0) == "\x04"
                                                                                 else "}}"), html)


def _blanked(tokens: list[Token]) -> list[Token]:
    """The token stream with each deletion's content replaced by one ``cloze_blank`` (the question's view)."""
    out = []
    for token in tokens:
        if token.type != "inline" or not any(c.type == "cloze_open" for c in token.children or ()):
            out.append(token)
            continue
        children: list[Token] = []
        depth = 0
        for child in token.children or []:
            if child.type == "cloze_open":
                if depth == 0:
                    children.append(Token("cloze_blank", "span", 0, meta=dict(child.meta)))
                depth += 1
            elif child.type == "cloze_close":
                depth -= 1
            elif depth == 0:
                children.append(child)
        out.append(token.copy(children=children))
    return out


def _differs_by_scheme(tokens: Sequence[Token]) -> bool:
    """Whether the HTML schemes give different HTML: code (class schemes) and math (typeset or MathJax)."""
    for t in tokens:
        if t.type in ("fence", "code_block") or t.type in MATH_TOKENS:
            return True
        if t.type == "inline" and any(c.type in MATH_TOKENS for c in t.children or ()):
            return True
    return False


def _heading_levels(tokens: Sequence[Token]) -> dict[str, int]:
    """The book scheme's level for each heading tag this text uses: the highest becomes ``<h3>``, each lower
    one the next level (no level skipped, so a reader's heading navigation never jumps), ``<h6>`` at most."""
    used = sorted({t.tag for t in tokens if t.type == "heading_open"})
    return {tag: min(6, ANSWER_TOP_LEVEL + rank) for rank, tag in enumerate(used)}


def _heading(_renderer, tokens: Sequence[Token], idx: int, _options, env: dict) -> str:
    """``<hN>`` at the env's level for its tag (the author's own outside the book scheme); no attributes."""
    token = tokens[idx]
    level = env.get("heading_levels", {}).get(token.tag, int(token.tag[1]))
    return f"<h{level}>" if token.nesting == 1 else f"</h{level}>\n"


class _SchemeLinks(LinkifyIt):
    """linkify-it as qaexport uses it: links with a scheme only (``fuzzy_link``, ``fuzzy_email`` and ``fuzzy_ip``
    off), its :meth:`pretest` as cheap as that allows.

    markdown-it's linkify rule asks ``pretest`` of every paragraph, heading and table cell, and linkify-it's own
    pretest searches the text for a scheme or a fuzzy host at every character behind a class of ~1,400 Unicode
    ranges: ~30 µs a text, ~70 ms of CPU over the 560-question benchmark book's ~2,400 texts, a seventh of its
    rendering, to find 33 that may hold a link (and none that does). Without fuzzy links, a link needs one of the
    schemes' names in its text (``test`` and ``match`` search for them before anything else, ignoring case), so a
    text without one is answered False at once: the same as the stock pretest's answer for the rule, since its
    True there only leads ``test`` to find no link. A text with one gets the stock pretest."""

    def __init__(self) -> None:
        super().__init__()
        super().set({"fuzzy_link": False, "fuzzy_email": False})  # fuzzy_ip is off by default
        # The stock schemes' names ("http:", "https:", "ftp:", "//", "mailto:"), with the case rule linkify-it
        # searches them with (re.IGNORECASE: "HTTP:" too, and what Unicode folds to them).
        self._any_scheme = re.compile("|".join(map(re.escape, self.default_schemas)), re.IGNORECASE)

    def pretest(self, text: str) -> bool:
        # Every scheme's name holds ":" or "//", which no other character folds to: most texts are answered by
        # those two substring searches, before the case-folding search.
        return ((":" in text or "//" in text) and self._any_scheme.search(text) is not None
                and super().pretest(text))

    def set(self, options: dict) -> LinkifyIt:
        """Refused for fuzzy links: :meth:`pretest` would then miss them."""
        if any(options.get(name) for name in ("fuzzy_link", "fuzzy_email", "fuzzy_ip")):
            raise ValueError("qaexport links only text with a scheme: fuzzy links are off")
        return super().set(options)

    def add(self, schema: str, definition: object) -> LinkifyIt:
        """Refused: :meth:`pretest` knows the stock schemes only."""
        raise ValueError("qaexport links the stock schemes only")


def _normalize_if_needed(state) -> None:
    """markdown-it's ``normalize`` rule (line endings to "\\n", NUL to U+FFFD) for a text holding a CR or a NUL; any
    other text it gives back unchanged, after two substitutions, one of which matches at every line end: ~2.5 % of
    the rendering of a code-heavy book, for nothing."""
    if "\r" in state.src or "\0" in state.src:
        normalize_rule(state)


def safe_markdown_it() -> MarkdownIt:
    """The one configuration of markdown-it: qaexport's Markdown (``formats/dialect``: CommonMark, GFM tables and
    strikethrough, cloze, math), raw HTML off, bare URLs linked (with a scheme only), only safe link schemes,
    images only from the library, headings placed under the question's in books."""
    md = extend(_SafeMarkdownIt("commonmark", {"html": False, "xhtmlOut": True, "linkify": True}))
    md.enable("linkify")
    md.linkify = _SchemeLinks()  # bare URLs with a scheme only (no fuzzy links), pretested cheaply
    md.core.ruler.at("normalize", _normalize_if_needed)
    md.inline.ruler.at("image", _image_rule(image_rule))
    md.add_render_rule("image", _image)
    for name in MATH_TOKENS:
        md.add_render_rule(name, _math(name in DISPLAY_TOKENS))
    md.add_render_rule("cloze_open", _cloze_open)
    md.add_render_rule("cloze_close", _cloze_close)
    md.add_render_rule("cloze_blank", _cloze_blank)
    md.add_render_rule("heading_open", _heading)
    md.add_render_rule("heading_close", _heading)
    return md


def inline_html(text: str, scheme: Scheme = Scheme.COMPACT) -> str:
    """A short text written in inline Markdown (a framework's or subtopic's description) as inline HTML."""
    md = _inline_md()
    return md.renderer.render(md.parseInline(clean_text(text), {}), md.options, {"scheme": scheme})


@functools.cache
def _inline_md() -> MarkdownIt:
    return safe_markdown_it()


class MarkdownRenderer:
    """Markdown → HTML in any of the HTML schemes, one parse and one lexing pass per text."""

    def __init__(self, highlighter: Highlighter) -> None:
        self.highlighter = highlighter
        md = safe_markdown_it()

        # Render rules are bound to markdown-it's renderer, so they are plain functions here.
        def fence(_renderer, tokens: Sequence[Token], idx: int, _options, env: dict) -> str:
            token = tokens[idx]
            info = unescapeAll(token.info).strip() if token.info else ""
            return self._code(token, info.split(maxsplit=1)[0] if info else "", env)

        def code_block(_renderer, tokens: Sequence[Token], idx: int, _options, env: dict) -> str:
            # An indented block is a fenced block without a language: the same box, the same theme.
            return self._code(tokens[idx], "", env)

        md.add_render_rule("fence", fence)
        md.add_render_rule("code_block", code_block)
        self.md = md

    def _code(self, token: Token, lang: str, env: dict) -> str:
        if _LEXED not in token.meta:
            token.meta[_LEXED] = self.highlighter.tokens(token.content, lang)
        portable = env["scheme"] is Scheme.PORTABLE
        return self.highlighter.format(token.content, lang, token.meta[_LEXED], portable=portable) + "\n"

    def _render(self, tokens: list[Token], schemes: Sequence[Scheme], env: dict | None = None) -> dict[Scheme, str]:
        env = env or {}
        levels = _heading_levels(tokens)

        def scheme_env(scheme: Scheme) -> dict:
            return {**env, "scheme": scheme, "heading_levels": levels if scheme is Scheme.COMPACT else {}}

        if not _differs_by_scheme(tokens) and not levels:  # every HTML scheme is the same: render once
            html = self.md.renderer.render(tokens, self.md.options, scheme_env(schemes[0]))
            return dict.fromkeys(schemes, html)
        return {s: self.md.renderer.render(tokens, self.md.options, scheme_env(s)) for s in schemes}

    def _tokens(self, text: str, inline: bool) -> list[Token]:
        # assemble already dropped what hides or reorders text; the renderer does it again for texts that reach it
        # another way (idempotent, and free for plain ASCII): qaexport.characters
        text = clean_text(text)
        if inline and "\n\n" not in text.strip():
            return self.md.parseInline(text, {})
        return self.md.parse(text, {})

    def render(self, text: str, schemes: Sequence[Scheme] = (Scheme.COMPACT,),
               images: dict[str, str] | None = None) -> dict[Scheme, str]:
        """A block text (an answer) in each HTML scheme asked for; ``images``: reference → media name."""
        return self._render(self._tokens(text, False), schemes, {"images": images or {}})

    def render_inline(self, text: str, schemes: Sequence[Scheme] = (Scheme.COMPACT,),
                      images: dict[str, str] | None = None) -> dict[Scheme, str]:
        """A one-paragraph text (a question) without the wrapping ``<p>``."""
        return self._render(self._tokens(text, True), schemes, {"images": images or {}})

    def render_cloze(self, text: str, schemes: Sequence[Scheme], images: dict[str, str] | None = None,
                     math_as_source: bool = False) -> dict[Scheme, tuple[str, str]]:
        """A cloze text per scheme: (question, filled). Books and cards: the deletions blanked, and the text
        filled with the deletions marked (a block). Anki (PORTABLE): the text in Anki's cloze syntax, and ""."""
        inline = self._tokens(text, True)
        env = {"images": images or {}, "math_as_source": math_as_source}
        out: dict[Scheme, tuple[str, str]] = {}
        for scheme in schemes:
            if scheme is Scheme.PORTABLE:
                marked = self._render(inline, [scheme], {**env, "cloze": ANKI})[scheme]
                out[scheme] = (anki_cloze(marked), "")
            else:
                blanked = self._render(_blanked(inline), [scheme], env)[scheme]
                filled = self._render(self._tokens(text, False), [scheme], {**env, "cloze": FILLED})[scheme]
                out[scheme] = (blanked, f'<div class="cloze-text">\n{filled}</div>\n')
        return out
