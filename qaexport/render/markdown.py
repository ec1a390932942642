"""The one Markdown renderer: CommonMark + GFM tables, raw HTML shown as text, safe links.

Input is untrusted web content. Raw HTML is escaped (``html=False``), only http, https
and mailto links survive, and images become plain links so no output format ever
fetches or embeds what the content points at. Output is XHTML-compatible so the EPUB
can use it unchanged.

Each text is parsed once; the token stream is then rendered once per class scheme the run
needs, with the scheme in markdown-it's ``env``. Code blocks (fenced or indented: the same
HTML) are lexed once, the lexed tokens kept on the block's token between renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token

from .highlight import Highlighter
from .schemes import Scheme

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_LEXED = "qaexport.lexed"


class _SafeMarkdownIt(MarkdownIt):
    def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it's name)
        return url.strip().lower().startswith(_SAFE_SCHEMES)


def _image_as_link(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = token.attrGet("src") or ""
    return f'<a class="image-link" href="{escape(src)}">[image: {escape(alt, quote=False)}]</a>'


def _has_code(tokens: Sequence[Token]) -> bool:
    return any(t.type in ("fence", "code_block") for t in tokens)


class MarkdownRenderer:
    """Markdown → HTML in any of the HTML schemes, one parse and one lexing pass per text."""

    def __init__(self, highlighter: Highlighter) -> None:
        self.highlighter = highlighter
        md = _SafeMarkdownIt("commonmark", {"html": False, "xhtmlOut": True}).enable(["table", "strikethrough"])
        md.add_render_rule("image", _image_as_link)

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
        if not _has_code(tokens):  # without code every HTML scheme is the same text: render once
            html = self.md.renderer.render(tokens, self.md.options, {"scheme": schemes[0]})
            return dict.fromkeys(schemes, html)
        return {s: self.md.renderer.render(tokens, self.md.options, {"scheme": s}) for s in schemes}

    def render(self, text: str, schemes: Sequence[Scheme] = (Scheme.COMPACT,)) -> dict[Scheme, str]:
        """A block text (an answer) in each HTML scheme asked for."""
        return self._render(self.md.parse(text, {}), schemes)

    def render_inline(self, text: str, schemes: Sequence[Scheme] = (Scheme.COMPACT,)) -> dict[Scheme, str]:
        """A one-paragraph text (a question) without the wrapping ``<p>``."""
        if "\n\n" in text.strip():
            return self.render(text, schemes)
        return self._render(self.md.parseInline(text, {}), schemes)
