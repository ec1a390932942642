"""WeasyPrint's user-agent stylesheet without six universal pseudo-element rules: less memory and time per page.

WeasyPrint's ``html5_ua.css`` has universal ``::marker``, ``::footnote-call``, ``::footnote-marker``,
``::note-call``, ``::note-marker`` and ``::note-callback`` rules. A universal pseudo-element rule makes WeasyPrint
compute and keep a style for that pseudo-element of *every* element, used or not: measured on a 93-page part of
the benchmark book, 56,000 of its 62,000 computed styles, a quarter of the layout's memory and a sixth of its time.

Our books have no footnotes or notes (the sanitiser drops ``style`` attributes and our CSS never floats anything to
a footnote), and only ``li`` and ``summary`` are list items, so the marker rule is scoped to them and the note
rules are dropped; pages come out the same (the tests compare rasterised pages and list markers).

This reaches past WeasyPrint's public API (``HTML._ua_stylesheets`` and ``weasyprint.html.UA_STYLESHEET``), so it
lives here alone (the architecture test holds every other module to the public API). When the rules are not found
as expected (a newer WeasyPrint), the stock sheet is used: slower, never wrong; a test checks that the trim applies
to the installed WeasyPrint.
"""

from __future__ import annotations

import re
from functools import cache

from weasyprint import CSS, HTML
from weasyprint.html import UA, UA_COUNTER_STYLE, UA_STYLESHEET

#: The universal pseudo-element rules, one per line in html5_ua.css.
_UNIVERSAL = re.compile(r"^::(marker|footnote-call|footnote-marker|note-call|note-marker|note-callback)"
                        r" \{([^}\n]*)\}$", re.MULTILINE)
_EXPECTED = 6


def lean_ua_source(source: str = UA) -> str | None:
    """``source`` with the marker rule scoped to list items and the note rules removed; None when the six rules
    are not all there (then nothing is changed)."""
    found: list[str] = []

    def scoped(match: re.Match[str]) -> str:
        found.append(match.group(1))
        return f":is(li, summary)::marker {{{match.group(2)}}}" if match.group(1) == "marker" else ""

    lean = _UNIVERSAL.sub(scoped, source)
    return lean if len(set(found)) == _EXPECTED == len(found) else None


@cache
def _lean_stylesheet() -> CSS:
    source = lean_ua_source()
    return UA_STYLESHEET if source is None else CSS(string=source, counter_style=UA_COUNTER_STYLE)


class LeanHTML(HTML):
    """:class:`weasyprint.HTML` laid out with the lean user-agent stylesheet."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        lean = _lean_stylesheet()
        return [lean if sheet is UA_STYLESHEET else sheet for sheet in super()._ua_stylesheets(forms)]
