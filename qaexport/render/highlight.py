"""Pygments highlighting with CSS classes, in two class schemes from one lexing pass.

* **compact** (books): token types that look identical in every active theme share one
  class, adjacent tokens of one class share one span, tokens the themes leave unstyled
  get no span, and no span crosses a line break. WeasyPrint lays out every span as a
  box, so this is what keeps a code-heavy book fast.
* **portable** (Anki): one class per Pygments token type, whatever the theme, so the
  HTML stored in notes never changes with ``--theme``; a theme change only touches the
  note type's CSS.

Class names come from the themes (compact) or from Pygments (portable) alone, never from
the content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from pygments import lex
from pygments.lexer import Lexer
from pygments.style import StyleMeta
from pygments.styles import STYLE_MAP, get_all_styles, get_style_by_name
from pygments.token import STANDARD_TYPES, Text, Token, Whitespace, _TokenType
from pygments.util import ClassNotFound

from ..errors import UsageError, shown
from .lexing import fast_lexing, make_lexer
from .lexing import tokens as fast_tokens
from .schemes import DEFAULT_NIGHT_THEME, DEFAULT_THEME

_STYLE_KEYS = ("color", "bgcolor", "bold", "italic", "underline", "border")
_PLAIN = (None, None, False, False, False, None)
_LANG_OK = re.compile(r"^[A-Za-z0-9_+#.-]{1,40}$")
_BARE_IN_PORTABLE = {Token, Text, Whitespace, Text.Whitespace}

Tokens = list[tuple[_TokenType, str]]
#: Characters of one language lexed by Pygments' own loop before its rules are joined (see ``tokens``).
JOIN_AFTER = 50_000


def available_themes() -> list[str]:
    return sorted(get_all_styles())


def theme_name(name: str) -> str:
    """The installed style's own name for ``name``, matched case-insensitively like every choice (``MONOKAI`` is
    ``monokai``: the same theme, so the same output); an unknown one is a usage error."""
    if name in STYLE_MAP:
        return name
    wanted = name.lower()
    found = next((known for known in available_themes() if known.lower() == wanted), None)
    if found is None:
        raise _unknown(name)
    return found


def _unknown(name: str) -> UsageError:
    """An unknown theme: its name shown cut short (it may come from a file: never a flood of one line)."""
    return UsageError(f"unknown theme {shown(name)}; run `qaexport themes` to list the installed ones")


def load_style(name: str) -> StyleMeta:
    try:
        return get_style_by_name(theme_name(name))
    except ClassNotFound:
        raise _unknown(name) from None


def _look(style: StyleMeta, ttype: _TokenType) -> tuple:
    """How a token looks; a token drawn exactly like plain text counts as plain (no span)."""
    spec = style.style_for_token(ttype)
    look = tuple(spec[k] for k in _STYLE_KEYS)
    if look[1:] == _PLAIN[1:] and look[0] == style.style_for_token(Token.Text)["color"]:
        return _PLAIN
    return look


def _standard(ttype: _TokenType) -> _TokenType:
    while ttype not in STANDARD_TYPES and ttype.parent is not None:
        ttype = ttype.parent
    return ttype


def _declarations(look: tuple) -> str:
    color, bgcolor, bold, italic, underline, border = look
    # Every property is spelled out so a night theme fully overrides the day one.
    decl = [f"color:#{color}" if color else "color:inherit",
            f"background-color:#{bgcolor}" if bgcolor else "background-color:transparent",
            "font-weight:bold" if bold else "font-weight:normal",
            "font-style:italic" if italic else "font-style:normal"]
    if underline:
        decl.append("text-decoration:underline")
    if border:
        decl.append(f"border:1px solid #{border}")
    return ";".join(decl)


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str


@dataclass
class _Scheme:
    """Which class each standard token type gets (None: no span) and how each class looks per theme."""

    classes: dict[_TokenType, str | None]
    looks: dict[str, list[tuple]]  # class -> look in each active theme
    spaces_join: bool  # may whitespace join the span it sits in?

    def class_for(self, ttype: _TokenType, cache: dict[_TokenType, str | None]) -> str | None:
        if ttype not in cache:
            cache[ttype] = self.classes.get(_standard(ttype))
        return cache[ttype]


class Highlighter:
    """Highlights code for a set of themes that share one HTML (e.g. day and night)."""

    def __init__(self, theme: str = DEFAULT_THEME, night_theme: str | None = DEFAULT_NIGHT_THEME,
                 accelerate: bool = True) -> None:
        """``accelerate=False`` lexes with Pygments' own loop only (the same tokens; see :mod:`.lexing`)."""
        theme = theme_name(theme)
        night_theme = theme_name(night_theme) if night_theme else night_theme
        self._made_with = (theme, night_theme, accelerate)
        self.accelerate = accelerate
        names = [theme] + ([night_theme] if night_theme else [])
        styles = [load_style(n) for n in names]
        self.themes = [self._theme(n, s) for n, s in zip(names, styles, strict=True)]
        looks = {t: [_look(s, t) for s in styles] for t in STANDARD_TYPES if t is not Token}

        groups: dict[tuple, list[_TokenType]] = {}
        for ttype, look in looks.items():
            if any(part != _PLAIN for part in look):
                groups.setdefault(tuple(look), []).append(ttype)
        compact: dict[_TokenType, str | None] = {}
        compact_looks: dict[str, list[tuple]] = {}
        for look, members in groups.items():
            rep = min(members, key=lambda t: (len(t), str(t)))
            cls = STANDARD_TYPES[rep] or "tk"
            compact_looks[cls] = list(look)
            compact.update(dict.fromkeys(members, cls))
        self._needs_own_space = {c for c, lk in compact_looks.items() if any(p[1] or p[4] or p[5] for p in lk)}
        self._compact = _Scheme(compact, compact_looks, spaces_join=True)

        portable = {t: (None if t in _BARE_IN_PORTABLE else STANDARD_TYPES[t] or None) for t in looks}
        portable_looks = {STANDARD_TYPES[t]: looks[t] for t, cls in portable.items()
                          if cls and any(part != _PLAIN for part in looks[t])}
        self._portable = _Scheme(portable, portable_looks, spaces_join=False)
        self._cache: dict[bool, dict[_TokenType, str | None]] = {False: {}, True: {}}
        self._lexers: dict[str, Lexer | None] = {}
        self._lexed: dict[Lexer, int] = {}  # characters each lexer has lexed through Pygments' own loop
        self._join_now: set[str] = set()  # languages with enough code ahead to join their rules at once

    def __reduce__(self) -> tuple:
        """Pickled as its theme names and made again where it lands (a spawned child): its tables are keyed by
        Pygments' token types, which must be the receiving process's own."""
        return (Highlighter, self._made_with)

    def expect(self, code_chars: dict[str, int]) -> None:
        """Tell how many characters of code per language this process is about to lex. A language with
        ``JOIN_AFTER`` or more joins its rules at its first block instead of after ``JOIN_AFTER`` characters
        lexed the slow way: a big bank gains those characters' time, a small one still never joins."""
        self._join_now |= {lang.strip().lower() for lang, chars in code_chars.items() if chars >= JOIN_AFTER}

    def signature(self, portable: bool) -> str:
        """What the HTML of a scheme depends on besides the code: its token-type → class mapping.
        Portable HTML is the same for every theme; compact HTML changes with the set of themes."""
        if portable:
            return "portable"
        classes = sorted((str(t), c or "") for t, c in self._compact.classes.items())
        return f"compact {classes} {sorted(self._needs_own_space)}"

    @staticmethod
    def _theme(name: str, style: StyleMeta) -> Theme:
        base = style.style_for_token(Token.Text)["color"] or style.style_for_token(Token)["color"]
        bg = style.background_color or "#ffffff"
        return Theme(name, bg if bg.startswith("#") else f"#{bg}", f"#{base}" if base else _contrast(bg))

    def css(self, index: int = 0, scope: str = "", portable: bool = False) -> str:
        """CSS for theme ``index`` (0 = main, 1 = night), every selector prefixed by ``scope``."""
        theme = self.themes[index]
        scheme = self._portable if portable else self._compact
        prefix = f"{scope} " if scope else ""
        lines = [f"{prefix}pre.hl{{background-color:{theme.background};color:{theme.foreground}}}"]
        lines += [f"{prefix}.hl .{cls}{{{_declarations(looks[index])}}}" for cls, looks in sorted(scheme.looks.items())]
        return "\n".join(lines) + "\n"

    def lexer(self, lang: str) -> Lexer | None:
        """Lexers are looked up once per language (the lookup costs as much as lexing a block)."""
        lang = lang.strip().lower()
        if lang not in self._lexers:
            lexer = None
            if lang and _LANG_OK.match(lang):
                try:
                    lexer = make_lexer(lang)
                except ClassNotFound:
                    lexer = None
            self._lexers[lang] = lexer
        return self._lexers[lang]

    def tokens(self, code: str, lang: str) -> Tokens | None:
        """The token stream, or None for an unknown or missing language (plain code). Once a language has
        had ``JOIN_AFTER`` characters, plain regex lexers run through :mod:`.lexing` (the same tokens, half
        the time, after joining their rules once: ~50 ms for Python, which a small bank never earns back)."""
        lexer = self.lexer(lang)
        if lexer is None:
            return None
        joined = self._lexed.get(lexer, 0) >= JOIN_AFTER or lang.strip().lower() in self._join_now
        if self.accelerate and fast_lexing(lexer) and joined:
            return fast_tokens(lexer, code)
        self._lexed[lexer] = self._lexed.get(lexer, 0) + len(code)
        return list(lex(code, lexer))

    def format(self, code: str, lang: str, tokens: Tokens | None, portable: bool = False) -> str:
        """A complete ``<pre>`` block from :meth:`tokens`' result."""
        if tokens is None:
            return f'<pre class="hl"><code>{escape(code, quote=False)}</code></pre>'
        lang_attr = f' class="language-{escape(lang.strip().lower())}"'
        return f'<pre class="hl"><code{lang_attr}>{self.spans(tokens, portable)}</code></pre>'

    def spans(self, tokens: Iterable[tuple[_TokenType, str]], portable: bool = False) -> str:
        """The tokens as HTML: one span per run of one class, never across a line break."""
        return self._portable_spans(tokens) if portable else self._spans(tokens, portable)

    def _portable_spans(self, tokens: Iterable[tuple[_TokenType, str]]) -> str:
        """``_spans`` for the portable scheme, where spaces never join a span: the same HTML with less work per
        token (a 10,000-note deck has a million), most tokens taking one branch. The tests compare the two."""
        cache = self._cache[True]
        scheme = self._portable
        out: list[str] = []
        current: str | None = None
        buf: list[str] = []
        for ttype, value in tokens:
            if not value:
                continue
            cls = cache[ttype] if ttype in cache else scheme.class_for(ttype, cache)
            if cls is None:  # unstyled: newlines need no splitting
                if current is not None:
                    out.append(f'<span class="{current}">{escape("".join(buf), quote=False)}</span>')
                    buf = []
                    current = None
                buf.append(value)
                continue
            for i, piece in enumerate(value.split("\n") if "\n" in value else (value,)):
                if i:  # a span never crosses a line break
                    if current is not None:
                        out.append(f'<span class="{current}">{escape("".join(buf), quote=False)}</span>')
                        buf = []
                        current = None
                    buf.append("\n")
                if piece:
                    if cls != current:
                        if buf:
                            text = escape("".join(buf), quote=False)
                            out.append(f'<span class="{current}">{text}</span>' if current else text)
                            buf = []
                        current = cls
                    buf.append(piece)
        if buf:
            text = escape("".join(buf), quote=False)
            out.append(f'<span class="{current}">{text}</span>' if current else text)
        return "".join(out)

    def _spans(self, tokens: Iterable[tuple[_TokenType, str]], portable: bool) -> str:
        scheme = self._portable if portable else self._compact
        cache = self._cache[portable]
        join_spaces = scheme.spaces_join
        own_space = self._needs_own_space
        out: list[str] = []
        current: str | None = None
        buf: list[str] = []

        def flush() -> None:
            text = escape("".join(buf), quote=False)
            out.append(f'<span class="{current}">{text}</span>' if current else text)
            buf.clear()

        for ttype, value in tokens:
            cls = cache[ttype] if ttype in cache else scheme.class_for(ttype, cache)
            # A span never crosses a line break: a box split over two lines costs a layout
            # engine twice (WeasyPrint splits it), and the newline looks the same unstyled.
            pieces = value.split("\n") if "\n" in value else (value,)
            for i, piece in enumerate(pieces):
                if i:
                    if current is not None:
                        if buf:
                            flush()
                        current = None
                    buf.append("\n")
                if not piece:
                    continue
                want = cls
                if want != current and join_spaces and current not in own_space and piece.isspace():
                    want = current  # spaces join the span they sit in
                if want != current:
                    if buf:
                        flush()
                    current = want
                buf.append(piece)
        if buf:
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
