"""A face's body is a block formatting context of its own (cards.css: ``.body { display: flow-root }``).

The difficulty badge floats right in the head. Without a context of its own for the body, the float stayed among
the excluded shapes of the page's context for the whole face, and WeasyPrint computed, for every line of the body,
the min-content width of the rest of the line box against it (``inline_min_content_width`` from
``get_next_linebox``: 8.4 % of the 560 cards' CPU samples), though the body starts below the badge. Here a real
face with a badge is measured by WeasyPrint: only the head's line, beside the badge, computes such a width, and it
measures the same as with the body in the face's context (nothing moves). Without the rule: 9 such widths.
"""

from __future__ import annotations

import pytest
import weasyprint.layout.inline as inline
from markupsafe import Markup

from qaexport.books.fonts import font_face_css, font_faces
from qaexport.exporters.cards import layout, sheet_css
from qaexport.exporters.cards.geometry import choose_grid
from qaexport.templates import asset, environment

BODY = ("<p>" + "A paragraph long enough to take many lines of the card, word after word. " * 6 + "</p>"
        "<ul><li><p>An item whose paragraph's margin ends the list.</p></li></ul>")


@pytest.fixture
def counted(monkeypatch) -> list[int]:
    calls = [0]
    real = inline.inline_min_content_width

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(inline, "inline_min_content_width", counting)
    return calls


def _measure(extra_css: str, tmp_path) -> layout.Measured:
    grid = choose_grid("a4", "a7")
    files = {face.uri: face.path for face in font_faces()}
    css = (font_face_css() + asset("cards", "cards.css") + sheet_css(grid)
           + f"@page {{ size: {grid.card_w}mm 3000mm; margin: 0; }}\n" + extra_css)
    face = environment("cards").get_template("face.html").module.face  # type: ignore[attr-defined]
    html = face("back", 7, "", "hard", "", Markup(BODY), 8.0, "m-0")
    assert "badge-hard" in html
    return layout._measure(layout.Batch([html], [False]), css, 1000.0, None, files)


def test_the_badges_float_is_not_an_excluded_shape_for_the_body_and_nothing_moves(counted, tmp_path):
    measured = _measure("", tmp_path)
    assert counted[0] == 1, f"{counted[0]} line boxes computed their min-content width against the badge"  # the head's
    counted[0] = 0
    in_the_faces_context = _measure(".body { display: block; }", tmp_path)
    assert counted[0] > 5  # what the body's lines did before: one each (and the head's)
    assert measured.spans == in_the_faces_context.spans
