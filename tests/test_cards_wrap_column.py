"""The ↪ column of a card's code only beside the lines that may wrap (``cards.code_holds``, ``books.html.code_lines``).

Every code line had the column, a ``::before`` box with the drawn mark as its background, empty on a line that does
not wrap; WeasyPrint laid it out and drew its pattern into a rectangle of no height (~15 % of the 560 cards' CPU:
the boxes, their backgrounds, their layers). A line gets it (class ``wrap``) only when it may wrap: more characters
than its block surely holds, a tab or a character outside ASCII; inside a table cell, or where the tags do not
nest, every line does. Here real WeasyPrint lays the lines out: a line as long as the bound never wraps in any block
the bound knows (so no mark is lost), and the cards' PDF draws the mark only beside the line that wraps.
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from markupsafe import Markup

from qaexport.books.fonts import font_face_css, font_faces
from qaexport.books.html import code_lines
from qaexport.exporters.cards import code_columns, code_holds, layout, sheet_css
from qaexport.exporters.cards.geometry import choose_grid
from qaexport.templates import asset, environment
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write

pytestmark = pytest.mark.slow  # lays out faces with WeasyPrint

#: Blocks a code block may be in (the bound narrows it by each list's and quote's indent), outermost first.
CONTEXTS = [(), ("ul", "li"), ("ol", "li", "ul", "li"), ("blockquote",), ("ul", "li", "blockquote"),
            ("blockquote", "ol", "li", "ul", "li")]


def _block(context: tuple[str, ...], lines: list[str]) -> str:
    code = '<pre class="hl"><code>' + "".join(f"{line}\n" for line in lines) + "</code></pre>"
    return "".join(f"<{name}>" for name in context) + code + "".join(f"</{name}>" for name in reversed(context))


def _ends(card: str, faces: list[tuple[str, float]]) -> list[float]:
    """Where each (body, size) ends on a face of ``card``, laid out by WeasyPrint with the cards' CSS."""
    grid = choose_grid("a4", card)
    files = {face.uri: face.path for face in font_faces()}
    css = (font_face_css() + asset("cards", "cards.css") + sheet_css(grid)
           + f"@page {{ size: {grid.card_w}mm 3000mm; margin: 0; }}\n")
    face = environment("cards").get_template("face.html").module.face  # type: ignore[attr-defined]
    html = [face("back", 1, "", "", "", Markup(code_lines(body, columns=code_columns(grid.card_w, size),
                                                            holds=code_holds(grid.card_w, size))), size, f"m-{k}")
            for k, (body, size) in enumerate(faces)]
    return [end for _top, end in layout._measure(layout.Batch(html, [False] * len(html)), css, 1e6, None, files).spans]


@pytest.mark.parametrize("card", ["a7", "business"])
def test_a_line_as_long_as_the_bound_never_wraps_and_two_more_characters_do(card):
    """Six lines of exactly ``holds`` characters take six lines, as six one-character lines do, in every block the
    bound knows, at the smallest, a middle and the largest answer size; two characters more wrap (the bound is
    within two characters of the room). Mono advances are all equal: the widest-looking characters are used."""
    grid = choose_grid("a4", card)
    faces = []
    for size in (7.0, 8.25, 9.0):
        for context in CONTEXTS:
            held = code_holds(grid.card_w, size)(context)
            assert held > 10
            for length in (1, held, held + 2):
                faces.append((_block(context, [("W@m_" * 40)[:length]] * 6), size))
    ends = _ends(card, faces)
    for k in range(0, len(faces), 3):
        one, held, over = ends[k:k + 3]
        assert held == one, (card, faces[k + 1])  # no line of the bound's length wrapped
        assert over > one + 5, (card, faces[k + 2])  # two characters more: every line wrapped


def test_only_lines_that_may_wrap_are_marked():
    holds = code_holds(choose_grid("a4", "a7").card_w, 9.0)
    room = holds(())
    marked = code_lines(_block((), ["short = 1", "x" * room, "y" * (room + 1), "\tz", "é = 1", "&#233; = 1"]),
                        columns=30, holds=holds)
    assert marked.count(" wrap") == 4  # the longer line, the tab, and the two lines holding a character past ASCII
    in_a_cell = code_lines(_block(("table", "tr", "td"), ["a = 1", "b = 2"]), columns=30, holds=holds)
    assert in_a_cell.count(" wrap") == 2  # a cell's width is not known: every line may wrap
    unnested = code_lines("<ul><li></ul>" + _block((), ["a = 1"]), columns=30, holds=holds)
    assert unnested.count(" wrap") == 1


def _patterns(path: Path) -> int:
    """The pattern objects (WeasyPrint draws the mark, an SVG background image, as one per box) the pages use."""
    found: set[tuple[int, int]] = set()
    with pikepdf.open(path) as pdf:
        def walk(resources, seen: set[tuple[int, int]]) -> None:
            if resources is None:
                return
            found.update(value.objgen for value in (resources.get("/Pattern") or {}).values())
            for value in (resources.get("/XObject") or {}).values():
                if value.objgen not in seen:
                    seen.add(value.objgen)
                    walk(value.get("/Resources"), seen)

        for pg in pdf.pages:
            walk(pg.Resources, set())
    return len(found)


def test_the_cards_draw_the_mark_only_beside_the_line_that_wraps(tmp_path):
    short = "\n".join(f"x{n} = {n}" for n in range(6))
    long_line = "result = compute(" + ", ".join(f"argument_{n}" for n in range(12)) + ")"
    wider = "total = add(first_value, second_value, third_value, fourth)"  # 60 columns: wraps on the card
    answer = f"Here:\n\n```python\n{short}\n{long_line}\n{wider}\n```\n\n- In a list:\n\n  ```python\n  y = 1\n  ```\n"
    bank = write(tmp_path / "code.json", page([subtopic("c", "Code", [question("code", "medium", "Show it?",
                                                                                answer)])]))
    target = tmp_path / "code.cards.pdf"
    qaexport("cards", str(bank), "-o", str(target), "--no-cache")
    # The two lines that wrap have the column (the booklet's bound, 88 columns, would leave the 60-column line without
    # it); every line had one: 9.
    assert _patterns(target) == 2
