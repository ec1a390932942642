"""Pygments highlighting with CSS classes and as few spans as the theme allows.

Pygments' stock HtmlFormatter emits one span per token; WeasyPrint lays out every span
as a box, so a code-heavy book spends most of its time and memory there. Here token
types that look identical in every active theme share one class, adjacent tokens of one
class share one span, and tokens the themes leave unstyled get no span at all.
Class names are derived from the themes alone, so the CSS never depends on the content.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from pygments import lex
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.style import StyleMeta
from pygments.styles import get_all_styles, get_style_by_name
from pygments.token import STANDARD_TYPES, Token, _TokenType
from pygments.util import ClassNotFound

from ..errors import UsageError

DEFAULT_THEME = "default"  # dark, bold/italic-distinguished colours: readable on paper and in grayscale
DEFAULT_NIGHT_THEME = "github-dark"

_STYLE_KEYS = ("color", "bgcolor", "bold", "italic", "underline", "border")
_LANG_OK = re.compile(r"^[A-Za-z0-9_+#.-]{1,40}$")


def available_themes() -> list[str]:
    return sorted(get_all_styles())


def load_style(name: str) -> StyleMeta:
    try:
        return get_style_by_name(name)
    except ClassNotFound:
        raise UsageError(f"unknown theme {name!r}; run `qaexport themes` to list the installed ones") from None


_PLAIN = (None, None, False, False, False, None)


def _look(style: StyleMeta, ttype: _TokenType) -> tuple:
    """How a token looks; a token drawn exactly like plain text counts as plain (no span)."""
    spec = style.style_for_token(ttype)
    look = tuple(spec[k] for k in _STYLE_KEYS)
    if look[1:] == _PLAIN[1:] and look[0] == style.style_for_token(Token.Text)["color"]:
        return _PLAIN
    return look


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str
    rules: dict[str, str]  # css class -> declarations


class Highlighter:
    """Highlights code for a set of themes that share one HTML (e.g. day and night)."""

    def __init__(self, theme: str = DEFAULT_THEME, night_theme: str | None = DEFAULT_NIGHT_THEME) -> None:
        names = [theme] + ([night_theme] if night_theme else [])
        styles = [load_style(n) for n in names]
        groups: dict[tuple, list[_TokenType]] = {}
        for ttype in STANDARD_TYPES:
            if ttype is Token:
                continue
            look = tuple(_look(s, ttype) for s in styles)
            if all(part == _PLAIN for part in look):
                continue
            groups.setdefault(look, []).append(ttype)
        self._class: dict[_TokenType, str] = {}
        self._needs_own_space: set[str] = set()
        looks: dict[str, tuple] = {}
        for look, members in groups.items():
            rep = min(members, key=lambda t: (len(t), str(t)))
            cls = STANDARD_TYPES[rep] or "tk"
            looks[cls] = look
            for t in members:
                self._class[t] = cls
            if any(part[1] or part[4] or part[5] for part in look):  # visible on whitespace
                self._needs_own_space.add(cls)
        self.themes = [self._theme(n, s, {c: lk[i] for c, lk in looks.items()}) for i, (n, s) in
                       enumerate(zip(names, styles, strict=True))]
        self._cache: dict[_TokenType, str | None] = {}
        self._lexers: dict[str, Lexer | None] = {}

    @staticmethod
    def _theme(name: str, style: StyleMeta, looks: dict[str, tuple]) -> Theme:
        base = style.style_for_token(Token.Text)["color"] or style.style_for_token(Token)["color"]
        bg = style.background_color or "#ffffff"
        rules: dict[str, str] = {}
        for cls, (color, bgcolor, bold, italic, underline, border) in sorted(looks.items()):
            # Every property is spelled out so a night theme fully overrides the day one.
            decl = [f"color:#{color}" if color else "color:inherit",
                    f"background-color:#{bgcolor}" if bgcolor else "background-color:transparent",
                    "font-weight:bold" if bold else "font-weight:normal",
                    "font-style:italic" if italic else "font-style:normal"]
            if underline:
                decl.append("text-decoration:underline")
            if border:
                decl.append(f"border:1px solid #{border}")
            rules[cls] = ";".join(decl)
        return Theme(name, bg if bg.startswith("#") else f"#{bg}", f"#{base}" if base else _contrast(bg), rules)

    def css(self, index: int = 0, scope: str = "") -> str:
        """CSS for theme ``index`` (0 = main, 1 = night), every selector prefixed by ``scope``."""
        theme = self.themes[index]
        prefix = f"{scope} " if scope else ""
        lines = [f"{prefix}pre.hl{{background-color:{theme.background};color:{theme.foreground}}}"]
        lines += [f"{prefix}.hl .{cls}{{{decl}}}" for cls, decl in theme.rules.items()]
        return "\n".join(lines) + "\n"

    def _class_for(self, ttype: _TokenType) -> str | None:
        if ttype not in self._cache:
            t = ttype
            while t not in STANDARD_TYPES and t.parent is not None:
                t = t.parent
            self._cache[ttype] = self._class.get(t)
        return self._cache[ttype]

    def block(self, code: str, lang: str) -> str:
        """A complete ``<pre>`` block; unknown or missing languages give plain escaped code."""
        lang = lang.strip().lower()
        lexer = self._lexer(lang)
        lang_attr = f' class="language-{escape(lang)}"' if lexer else ""
        if lexer is None:
            return f"<pre class=\"hl\"><code>{escape(code, quote=False)}</code></pre>"
        return f"<pre class=\"hl\"><code{lang_attr}>{self.spans(lex(code, lexer))}</code></pre>"

    def _lexer(self, lang: str) -> Lexer | None:
        """Lexers are looked up once per language (the lookup costs as much as lexing a block)."""
        if lang not in self._lexers:
            lexer = None
            if lang and _LANG_OK.match(lang):
                try:
                    lexer = get_lexer_by_name(lang, stripnl=False, ensurenl=False)
                except ClassNotFound:
                    lexer = None
            self._lexers[lang] = lexer
        return self._lexers[lang]

    def spans(self, tokens: Sequence[tuple[_TokenType, str]] | object) -> str:
        out: list[str] = []
        current: str | None = None
        buf: list[str] = []

        def flush() -> None:
            if buf:
                text = escape("".join(buf), quote=False)
                out.append(f'<span class="{current}">{text}</span>' if current else text)
                buf.clear()

        for ttype, value in tokens:  # type: ignore[attr-defined]
            # A span never crosses a line break: a box split over two lines costs a layout
            # engine twice (WeasyPrint splits it), and the newline looks the same unstyled.
            for i, piece in enumerate(value.split("\n")):
                if i:
                    if current is not None:
                        flush()
                        current = None
                    buf.append("\n")
                if not piece:
                    continue
                cls = self._class_for(ttype)
                if cls != current and piece.isspace() and current not in self._needs_own_space:
                    cls = current  # spaces join the span they sit in
                if cls != current:
                    flush()
                    current = cls
                buf.append(piece)
        flush()
        return "".join(out)


def _contrast(bg: str) -> str:
    h = bg.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    try:
        r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return "#000000"
    return "#000000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#f0f0f0"
