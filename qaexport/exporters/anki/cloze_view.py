"""What Anki's ``{{cloze:Text}}`` filter makes of a cloze note's Text field, for previews (``qaexport serve``).

Anki (2.1.50 and later) shows the deletions of the card's number as ``<span class="cloze" …>`` — ``[…]`` or the
hint on the front (with the hidden text in ``data-cloze``, attribute-encoded), the text on the back — and every
other deletion as its text in ``<span class="cloze-inactive">``. The Text fields qaexport writes hold no nested
deletion and no brace of their own (``render/markdown.anki_cloze``), so :func:`formats.cloze.html_pieces`
reads them as Anki does; the tests compare the result with the official ``anki`` package's own rendering.
"""

from __future__ import annotations

from ...formats.cloze import html_pieces

#: What Anki shows for a hidden deletion without a hint.
ANKI_BLANK = "[...]"
_MINIMAL = {'"': "&quot;", "&": "&amp;", "'": "&#x27;", "<": "&lt;", ">": "&gt;"}


def encode_attribute(text: str) -> str:
    """Anki's attribute encoding of ``data-cloze`` (the htmlescape crate's ``encode_attribute``): the five
    characters of minimal HTML escaping by name; in hex any other character below U+0100 but ASCII letters and
    digits; the rest as it is."""
    return "".join(_MINIMAL.get(c) or (f"&#x{ord(c):X};" if ord(c) < 256 and not (c.isascii() and c.isalnum())
                                       else c) for c in text)


def cloze_side(text: str, number: int, back: bool) -> str:
    """The Text field as card ``number`` (1-based) shows it, on the front or the back."""
    out: list[str] = []
    content: list[str] = []
    hint: list[str] = []
    current = 0
    for piece in html_pieces(text):
        if piece.kind == "open":
            current, content, hint = piece.number, [], []
        elif piece.kind == "hint":
            hint.append(piece.text)
        elif piece.kind == "close":
            inner = "".join(content)
            if current != number:
                out.append(f'<span class="cloze-inactive" data-ordinal="{current}">{inner}</span>')
            elif back:
                out.append(f'<span class="cloze" data-ordinal="{current}">{inner}</span>')
            else:
                shown = f"[{''.join(hint)}]" if "".join(hint).strip() else ANKI_BLANK
                out.append(f'<span class="cloze" data-cloze="{encode_attribute(inner)}" '
                           f'data-ordinal="{current}">{shown}</span>')
            current = 0
        elif current:
            content.append(piece.text)
        else:
            out.append(piece.text)
    return "".join(out)
