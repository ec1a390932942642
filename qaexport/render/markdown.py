"""The one Markdown renderer: CommonMark + GFM tables, raw HTML shown as text, safe links.

Input is untrusted web content. Raw HTML is escaped (``html=False``), only http, https
and mailto links survive (bare ``https://…`` URLs become links too, through linkify-it;
no fuzzy matching, so ``app.py`` stays text), and images become plain links so no output
format ever fetches or embeds what the content points at. Output is XHTML-compatible so
the EPUB can use it unchanged.

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

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token

from .highlight import Highlighter
from .schemes import Scheme

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
# Bidi overrides/isolates and invisible characters that could disguise text.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u0000-\u0008\u000b\u000c\u000e-\u001f]")
_LEXED = "qaexport.lexed"


def clean_text(text: str) -> str:
    """Drop characters that can reorder or hide text; everything else stays as written."""
    return _INVISIBLE.sub("", text)


class _SafeMarkdownIt(MarkdownIt):
    def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it's name)
        return url.strip().lower().startswith(_SAFE_SCHEMES)


def _image_as_link(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = token.attrGet("src") or ""
    return f'<a class="image-link" href="{escape(src)}">[image: {escape(alt, quote=False)}]</a>'


#: The level an answer's highest heading takes in books: one below the question's ``<h2>``.
ANSWER_TOP_LEVEL = 3


def _has_code(tokens: Sequence[Token]) -> bool:
    return any(t.type in ("fence", "code_block") for t in tokens)


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


def safe_markdown_it() -> MarkdownIt:
    """The one configuration of markdown-it: CommonMark, raw HTML off, GFM tables and strikethrough, bare
    URLs linked (with a scheme only), only safe link schemes, images as links."""
    md = _SafeMarkdownIt("commonmark", {"html": False, "xhtmlOut": True, "linkify": True}).enable(
        ["table", "strikethrough", "linkify"])
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
    md.add_render_rule("image", _image_as_link)
    md.add_render_rule("heading_open", _heading)
    md.add_render_rule("heading_close", _heading)
    return md


def inline_html(text: str) -> str:
    """A short text written in inline Markdown (a framework's or subtopic's description) as inline HTML."""
    md = _inline_md()
    return md.renderer.render(md.parseInline(clean_text(text), {}), md.options, {})


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

    def _render(self, tokens: list[Token], schemes: Sequence[Scheme]) -> dict[Scheme, str]:
        levels = _heading_levels(tokens)

        def env(scheme: Scheme) -> dict:
            return {"scheme": scheme, "heading_levels": levels if scheme is Scheme.COMPACT else {}}

        if not _has_code(tokens) and not levels:  # every HTML scheme is the same text: render once
            html = self.md.renderer.render(tokens, self.md.options, env(schemes[0]))
            return dict.fromkeys(schemes, html)
        return {s: self.md.renderer.render(tokens, self.md.options, env(s)) for s in schemes}

    def render(self, text: str, schemes: Sequence[Scheme] = (Scheme.COMPACT,)) -> dict[Scheme, str]:
        """A block text (an answer) in each HTML scheme asked for."""
        return self._render(self.md.parse(clean_text(text), {}), schemes)

    def render_inline(self, text: str, schemes: Sequence[Scheme] = (Scheme.COMPACT,)) -> dict[Scheme, str]:
        """A one-paragraph text (a question) without the wrapping ``<p>``."""
        text = clean_text(text)
        if "\n\n" in text.strip():
            return self.render(text, schemes)
        return self._render(self.md.parseInline(text, {}), schemes)
