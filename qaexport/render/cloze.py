"""Cloze HTML from Anki notes (an ``.apkg`` source, or a bank section with ``format=html``) in the three views
the outputs need, printed like a Markdown cloze: blanks, filled text, Anki's own syntax."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

from ..formats.cloze import BLANK, html_pieces

_IMG_SRC = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"')  # on sanitised (canonical) HTML only


@dataclass(frozen=True)
class ClozeViews:
    blanked: str  # every deletion as [hint] or […]
    filled: str  # every deletion's text, marked
    anki: str  # as the note holds it


def html_cloze(sanitized: str) -> ClozeViews:
    """The views of sanitised cloze HTML. Tags a deletion leaves unbalanced once blanked are balanced again by
    the sanitiser that every view then passes through (``formats.html.inline``/``sanitize``)."""
    from ..formats.html import sanitize

    blanked: list[str] = []
    filled: list[str] = []
    hint: list[str] = []
    inside = False
    for piece in html_pieces(sanitized):
        if piece.kind == "open":
            inside, hint = True, []
            filled.append('<span class="cloze">')
        elif piece.kind == "hint":
            hint.append(piece.text)
        elif piece.kind == "close":
            shown = "[" + html_lib.unescape("".join(hint)).strip() + "]" if "".join(hint).strip() else BLANK
            blanked.append(f'<span class="cloze">{html_lib.escape(shown, quote=False)}</span>')
            filled.append("</span>")
            inside = False
        else:
            filled.append(piece.text)
            if not inside:
                blanked.append(piece.text)
    shown = set(_IMG_SRC.findall(sanitized))  # images the first sanitising let through stay
    return ClozeViews(sanitize("".join(blanked), shown), sanitize("".join(filled), shown), sanitized)
