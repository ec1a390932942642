"""The one Markdown renderer: CommonMark + GFM tables, raw HTML shown as text, safe links.

Input is untrusted web content. Raw HTML is escaped (``html=False``), only http, https
and mailto links survive, and images become plain links so no output format ever
fetches or embeds what the content points at. Output is XHTML-compatible so the EPUB
can use it unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from markdown_it import MarkdownIt

from .highlight import Highlighter, Tokens

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
# Bidi overrides/isolates and invisible characters that could disguise text.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u0000-\u0008\u000b\u000c\u000e-\u001f]")


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


@dataclass(frozen=True)
class Html:
    """One text in the class schemes the run needs (see ``highlight``); the same text when there is no code."""

    compact: str | None
    portable: str | None

    @property
    def has_code(self) -> bool:
        return '<pre class="hl">' in (self.compact or self.portable or "")


# Raw HTML is off, so content can never produce "<pre": this marker is ours alone.
_CODE_MARK = re.compile(r'<pre data-qaexport-code="(\d+)"></pre>')


class MarkdownRenderer:
    """Parses each text once and lexes each code block once; formats code in both class schemes."""

    def __init__(self, highlighter: Highlighter, compact: bool = True, portable: bool = True) -> None:
        self.highlighter = highlighter
        self.wanted = (compact, portable)
        self._blocks: list[tuple[str, str, Tokens | None]] = []
        md = _SafeMarkdownIt(
            "commonmark",
            {"html": False, "xhtmlOut": True, "highlight": self._highlight},
        ).enable(["table", "strikethrough"])
        md.add_render_rule("image", _image_as_link)
        self.md = md

    def _highlight(self, code: str, lang: str, _attrs: str) -> str:
        self._blocks.append((code, lang, self.highlighter.tokens(code, lang)))
        return f'<pre data-qaexport-code="{len(self._blocks) - 1}"></pre>'

    def _variants(self, html: str) -> Html:
        blocks, self._blocks = self._blocks, []
        if not blocks:
            return Html(html, html)
        hl = self.highlighter

        def fill(portable: bool) -> str | None:
            if not self.wanted[portable]:
                return None  # formatting costs as much as a tenth of rendering: only what a run needs
            return _CODE_MARK.sub(lambda m: hl.format(*blocks[int(m.group(1))], portable=portable), html)

        return Html(fill(False), fill(True))

    def render(self, text: str) -> Html:
        return self._variants(self.md.render(clean_text(text)))

    def render_inline(self, text: str) -> Html:
        """A one-paragraph text (a question) without the wrapping ``<p>``."""
        text = clean_text(text)
        if "\n\n" in text.strip():
            return self._variants(self.md.render(text))
        return self._variants(self.md.renderInline(text))

    def block(self, text: str) -> str:
        return self.render(text).compact or ""

    def inline(self, text: str) -> str:
        return self.render_inline(text).compact or ""
