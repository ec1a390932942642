"""Cloze deletions, images and math in a Markdown bank, through every output, read back by the real tools:
the official ``anki`` package, EPUBCheck and Ace, pypdf and pikepdf, PDFium, and the bank reader itself."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.exporters.anki.identity import CLOZE_MODEL_ID, CLOZE_MODEL_NAME, MODEL_NAME, note_guid
from qaexport.formats.anki_package import BANK_MEMBER
from qaexport.formats.dialect import scan
from qaexport.formats.images import Refused, accept, sanitize_svg
from tests.anki_collection import import_deck, log_counts, new_collection
from tests.cli_run import qaexport
from tests.test_anki_safety import mathjax_view
from tests.tools import run_epubcheck

CLEAN = {"fatal": 0, "error": 0, "warning": 0, "info": 0, "usage": 0}
EVIL_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" '
            b'height="20" onload="alert(1)"><script>alert(2)</script><rect width="40" height="20" fill="#2a7"/>'
            b'<image xlink:href="http://example.com/x.png"/><foreignObject><p>pwned</p></foreignObject></svg>')

BANK = r"""---
framework: Science
topic: Physics
subtopic: Basics
cover: images/cover.png
---

## The {{c1::speed of light}} is about {{c2::300,000 km/s::how fast?}} in {{c3::vacuum}} {#light .easy}

## {#energy .medium}

```cloze
Einstein wrote {{c1::$E = mc^2$}}: mass and energy are {{c2::equivalent::related how?}}.
```

Special relativity, 1905.

## Which circuit is this? ![a red resistor](images/resistor.png) {#circuit .hard}

A resistor: ![a green block](images/block.svg) and ![outside](../outside.png) and ![web](https://example.com/a.png).

![a wide banner](images/wide.png)

Ohm's law $V = IR$ and the area

$$
\int_0^1 x^2\,dx = \frac{1}{3}
$$

It costs $5 and $10, `$not math$`, and \(a^2 + b^2\). A broken one: $\notacommand{x}$.
"""


def _png(path: Path, size: tuple[int, int], colour: str = "red", mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour if mode == "RGB" else 1).save(path)


def write_bank(folder: Path, text: str = BANK) -> Path:
    bank = folder / "bank"
    _png(bank / "images" / "resistor.png", (40, 20))
    _png(bank / "images" / "cover.png", (60, 80), "navy")
    _png(bank / "images" / "wide.png", (2400, 60), "orange")
    (bank / "images" / "block.svg").write_bytes(EVIL_SVG)
    _png(folder / "outside.png", (10, 10), "black")
    (bank / "physics.md").write_text(text, encoding="utf-8")
    return bank


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cim")
    bank = write_bank(tmp)
    out = tmp / "out"
    env = {"QAEXPORT_STATE_DIR": str(tmp / "state"), "QAEXPORT_CACHE_DIR": str(tmp / "cache")}
    result = CliRunner().invoke(app, ["all", str(bank), "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    qaexport("pdf", str(bank), "--answers", "end", "-o", str(out / "quiz.pdf"), env=env)
    qaexport("epub", str(bank), "--answers", "end", "-o", str(out / "quiz.epub"), env=env)
    qaexport("pdf", str(bank), "--tagged", "-o", str(out / "tagged.pdf"), env=env)
    qaexport("cards", str(bank), "-o", str(out / "cards.pdf"), env=env)
    return {"bank": bank, "log": Path(tmp / "log.txt"), "output": result.output,  # type: ignore[dict-item]
            "tagged.pdf": out / "tagged.pdf", "cards": out / "cards.pdf", "apkg": out / "science-physics.apkg",
            "pdf": out / "science-physics.pdf",
            "epub": out / "science-physics.epub", "quiz.pdf": out / "quiz.pdf", "quiz.epub": out / "quiz.epub",
            "site": next(out.glob("*-site")), "tmp": tmp}


# ---------------------------------------------------------------------------------------------- syntax


def test_prices_code_and_escapes_are_not_math():
    found = scan(r"It costs $5 and $10, `$x$` in code, \$y$ escaped, [$]z[/$] is Anki's, and $ok$ is.").formulas
    assert [f.tex for f in found] == ["ok"]
    assert [f.tex for f in scan(r"$$a$$ and \(b\) and \[c\]").formulas] == ["a", "b", "c"]


def test_cloze_inside_code_or_escaped_is_text():
    assert scan(r"`{{c1::x}}` and \{{c1::y}}").numbers == []
    assert scan("{{c1::a}} {{c3::b::hint}} {{c1::c}}").numbers == [1, 3]


@pytest.mark.parametrize(("body", "line", "words"), [
    ("## The {{c1::unclosed {#a .easy}\n\nx\n", 7, "not closed"),
    ("## Empty {{c1::}} here {#a .easy}\n\nx\n", 7, "empty deletion"),
    ("## Zero {{c0::x}} here {#a .easy}\n\nx\n", 7, "c0 must be 1 to"),
    ("## Nested {{c1::a {{c2::b}} c}} {#a .easy}\n\nx\n", 7, "inside a deletion"),
    ("## In a hint {{c1::a::see {{c2::b}} c}} {#a .easy}\n\nx\n", 7, "inside a deletion"),
    ("## {#a .easy}\n\n```cloze\nfirst line\n\nin math $x = {{c1::y}}$\n```\n", 12, "inside a formula"),
    ("## {#a .easy}\n\n```cloze\nno deletion\n```\n\nx\n", 10, "without a deletion"),
    ("## Missing ![pic](images/nope.png) {#a .easy}\n\nx\n", 7, "not found"),
])
def test_a_bad_cloze_or_missing_image_is_one_line_naming_file_and_line(tmp_path, body, line, words):
    path = tmp_path / "bad.md"  # slugs pinned: validate's only line about this file is the problem
    path.write_text("---\nframework: {name: F, slug: f}\ntopic: {name: T, slug: t}\nsubtopic: {name: S, slug: s}\n"
                    "---\n\n" + body, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    problems = [ln.removeprefix("✗ ") for ln in result.output.splitlines() if f"{path}:" in ln]
    assert len(problems) == 1 and problems[0].startswith(f"{path}:{line}:") and words in problems[0], result.output


def _validate(tmp_path: Path, body: str) -> tuple[int, str, Path]:
    path = tmp_path / "limits.md"
    path.write_text("---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n" + body, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    return result.exit_code, result.output, path


def test_cloze_limits_take_the_last_allowed_and_refuse_one_more(tmp_path):
    """Deletion numbers 1 to 500 (each a card of its note), at most 500 deletions a question: the limits' real
    values (the constants would follow a loosened limit)."""
    code, output, _ = _validate(tmp_path, "## Last {{c500::x}} {#a .easy}\n\nx\n")
    assert code == 0, output
    code, output, path = _validate(tmp_path, "## One more {{c501::x}} {#a .easy}\n\nx\n")
    assert code == 1 and f"{path}:7:" in output and "c501 must be 1 to 500" in output, output
    many = " ".join(["{{c1::x}}"] * 500)  # the longest question (5,000 characters) holds them
    code, output, _ = _validate(tmp_path, f"## {{#a .easy}}\n\n```cloze\n{many}\n```\n")
    assert code == 0, output[:500]
    code, output, path = _validate(tmp_path, f"## {{#a .easy}}\n\n```cloze\n{many}{{{{c1::y}}}}\n```\n")
    assert code == 1 and f"{path}:10:" in output, output[:500]  # the fence's text
    assert "more than 500 cloze deletions in one question" in output, output[:500]


def test_a_cloze_needs_no_answer_but_a_question_does(tmp_path):
    path = tmp_path / "b.md"
    path.write_text("---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n## A {{c1::b}} c {#a .easy}\n\n"
                    "## Plain {#p .easy}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and f"{path}:9:" in result.output and "has no answer" in result.output
    assert f"{path}:7:" not in result.output


def test_a_deletion_in_an_answer_is_a_warning_naming_its_line(tmp_path):
    """Only the question's text makes cloze cards; a deletion written in an answer (a plain question's, or a cloze's
    back extra) hides nothing and made no card, without a word (trial10). One in code is text, and not warned."""
    path = tmp_path / "a.md"
    path.write_text("---\nframework: {name: F, slug: f}\ntopic: {name: T, slug: t}\nsubtopic: {name: S, slug: s}\n"
                    "---\n\n## Plain {#p .easy}\n\nFirst line.\nThe answer says {{c1::hidden}} here.\n\n"
                    "## A {{c1::b}} c {#c .easy}\n\nBack extra `{{c2::code}}` and {{c2::more}}.\n\n"
                    "## Code only {#k .easy}\n\nWrite `{{c1::x}}` for a deletion.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    warned = [ln for ln in result.output.splitlines() if "cloze deletion in the answer" in ln]
    assert [ln.split(": ")[1] for ln in warned] == [f"{path}:10", f"{path}:14"], result.output


def test_a_formula_the_converter_turns_into_broken_mathml_is_warned_and_code_everywhere(tmp_path):
    """latex2mathml writes `aligned` and a `<` inside \\text{} as text that is no XML: the books, the EPUB and the site
    printed such a formula as code while validate said ok and Anki typeset it (trial10). Now it is refused where
    every output asks: a warning with its line and the way out, and code in Anki too."""
    from qaexport.render.math import live, typeset

    code, output, path = _validate(tmp_path, "## A {#a .easy}\n\n$$\n\\begin{aligned} x &= 1 \\\\ y &= 2 "
                                             "\\end{aligned}\n$$\n\nAnd $\\text{a<b}$ too.\n")
    assert code == 0, output
    assert f"{path}:9: formula '\\begin{{aligned}}" in output and "write \\begin{align*}" in output, output
    assert f"{path}:13: formula '\\text{{a<b}}'" in output and "as \\lt, \\gt, \\&" in output, output
    for tex, display in ((r"\begin{aligned} x &= 1 \end{aligned}", True), (r"\text{a<b}", False)):
        assert 'class="math-error"' in live(tex, display) and 'class="math-error"' in typeset(tex, display)
    assert 'class="math-error"' not in live(r"\begin{align*} x &= 1 \end{align*}", True)


# ---------------------------------------------------------------------------------------------- images


def test_svg_is_rebuilt_without_anything_active():
    clean = sanitize_svg(EVIL_SVG)
    assert isinstance(clean, bytes) and b"<rect" in clean
    for needle in (b"onload", b"script", b"example.com", b"foreignObject", b"pwned"):
        assert needle not in clean
    assert sanitize_svg(clean) == clean  # stable: its content name does not change when read again


_SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'


def _svg(body: str, head: str = "") -> bytes:
    return (head + _SVG_OPEN + '<rect id="keep" width="4" height="4"/>' + body + "</svg>").encode()


#: One active or fetching part each (what must go) beside a harmless one of the same kind (what must stay): each
#: rule of the sanitiser, removed once, fails exactly its own case.
@pytest.mark.parametrize(("body", "gone", "kept"), [
    ('<script>alert(1)</script><g id="ok"/>', "alert", 'id="ok"'),  # an element off the list
    ('<foreignObject><p>pwned</p></foreignObject><g id="ok"/>', "pwned", 'id="ok"'),
    ('<image href="http://example.com/x.png"/><g id="ok"/>', "example.com", 'id="ok"'),
    ('<evil:script xmlns:evil="urn:x">pwned</evil:script><g id="ok"/>', "pwned", 'id="ok"'),  # another namespace
    ('<rect onclick="alert(1)" ONMOUSEOVER="alert(2)" id="ok"/>', "alert", 'id="ok"'),
    ('<rect src="http://x/1" id="ok"/>', "http://x", 'id="ok"'),
    ('<rect action="http://x/1" id="ok"/>', "http://x", 'id="ok"'),
    ('<rect formaction="http://x/1" id="ok"/>', "http://x", 'id="ok"'),
    ('<rect srcset="http://x/1" id="ok"/>', "http://x", 'id="ok"'),
    ('<rect ping="http://x/1" id="ok"/>', "http://x", 'id="ok"'),
    ('<rect download="x.exe" id="ok"/>', "x.exe", 'id="ok"'),
    ('<use href="http://x/a.svg#a"/><use href="#keep" id="ok"/>', "http://x", 'href="#keep"'),
    ('<use xlink:href="http://x/a.svg#a"/><use xlink:href="#keep"/>', "http://x", 'xlink:href="#keep"'),
    ('<rect fill="url(http://x/p.svg#g)" stroke="url(#keep)"/>', "http://x", 'stroke="url(#keep)"'),
    ('<rect style="fill: url(http://x/p.svg#g)"/><rect style="fill: red"/>', "http://x", 'style="fill: red"'),
    ('<rect style="width: expression(alert(1))"/><rect style="fill: red"/>', "alert", 'style="fill: red"'),
    ('<rect style="behavior: url(#x)"/><rect style="fill: red"/>', "behavior", 'style="fill: red"'),
    ('<rect style="-moz-binding: url(#x)"/><rect style="fill: red"/>', "binding", 'style="fill: red"'),
    ('<rect style="fill: javascript:alert(1)"/><rect style="fill: red"/>', "alert", 'style="fill: red"'),
    ('<style>@import "http://x/a.css";</style><style>rect { fill: red }</style>', "http://x", "fill: red"),
    ('<style>rect { fill: url(http://x/p.svg#g) }</style><style>rect { fill: red }</style>', "http://x",
     "fill: red"),
    ('<style>rect { fill: red }<g id="inside"/></style><style>g { fill: blue }</style>', "inside", "fill: blue"),
    ('<animate attributeName="href" values="javascript:alert(1)"/><g id="ok"/>', "javascript", 'id="ok"'),
    ('<set attributeName="href" to="javascript:alert(1)"/><g id="ok"/>', "javascript", 'id="ok"'),
    ('<a href="javascript:alert(1)">x</a><g id="ok"/>', "javascript", 'id="ok"'),
    ('<!-- pwned --><g id="ok"/>', "pwned", 'id="ok"'),
    ('<?xml-stylesheet href="http://x/a.css"?><g id="ok"/>', "http://x", 'id="ok"'),
])
def test_svg_sanitiser_drops_each_active_part_and_keeps_the_harmless_one(body, gone, kept):
    clean = sanitize_svg(_svg(body))
    assert isinstance(clean, bytes), clean
    text = clean.decode()
    assert gone not in text and kept in text and 'id="keep"' in text, text


def test_svg_sanitiser_keeps_every_drawing_element_a_diagram_needs():
    """The allow-list, written out: each element dropped from it loses this drawing a part."""
    names = ["svg", "g", "defs", "symbol", "use", "title", "desc", "metadata", "path", "rect", "circle", "ellipse",
             "line", "polyline", "polygon", "text", "tspan", "textPath", "linearGradient", "radialGradient", "stop",
             "pattern", "clipPath", "mask", "marker", "filter", "feBlend", "feColorMatrix", "feComponentTransfer",
             "feComposite", "feFlood", "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology", "feOffset",
             "feFuncR", "feFuncG", "feFuncB", "feFuncA", "switch", "style"]
    clean = sanitize_svg(_svg("".join(f'<{n} id="x-{n}"/>' for n in names)))
    assert isinstance(clean, bytes)
    assert [n for n in names if f'<{n} id="x-{n}"/>' not in clean.decode()] == []


def test_svg_parser_reads_no_entity_no_dtd_and_no_deep_tree(tmp_path):
    secret, dtd = tmp_path / "secret.txt", tmp_path / "broken.dtd"
    secret.write_text("SECRETMARK")
    dtd.write_text('<!ENTITY % broken "')  # loading it would make the file unreadable
    entity = f'<!DOCTYPE svg [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
    clean = sanitize_svg(_svg("<text>&x;</text>", head=entity))
    assert isinstance(clean, bytes) and b"SECRETMARK" not in clean
    assert isinstance(sanitize_svg(_svg("", head=f'<!DOCTYPE svg SYSTEM "{dtd.as_uri()}">')), bytes)
    deep = sanitize_svg(_svg("<g>" * 300 + "</g>" * 300))  # a layout engine recurses per level
    assert isinstance(deep, Refused) and "nest more than 256 deep" in str(deep)
    assert isinstance(sanitize_svg(b'<html xmlns="http://www.w3.org/1999/xhtml"><svg/></html>'), Refused)


def test_svg_element_limit():
    """50,000 elements (the limit's real value, not the constant, which a loosened limit would carry along)."""
    at_limit = sanitize_svg(_svg("<g/>" * (50_000 - 2)))  # the root and the kept rect count
    assert isinstance(at_limit, bytes)
    over = sanitize_svg(_svg("<g/>" * (50_000 - 1)))
    assert isinstance(over, Refused) and "more than 50,000 SVG elements" in str(over)


def _use_levels(levels: int, fan: int, href: str = "href") -> str:
    """``levels`` groups, each drawing the one below ``fan`` times: (fan ** levels) circles from a few hundred bytes."""
    groups = "".join(f'<g id="l{i}">' + f'<use {href}="#l{i - 1}"/>' * fan + "</g>" for i in range(1, levels + 1))
    return f'<defs><circle id="l0" r="1"/>{groups}</defs><use {href}="#l{levels}"/>'


def test_svg_element_limit_counts_what_its_use_references_and_markers_draw(tmp_path):
    """trial11 #10: 8 levels of 10 <use> (3.5 KB, 71 elements) drew 10^8 circles: `qaexport pdf` ran past 5 minutes
    at 4 GiB. The limit counts each <use> with what it names (the limit's real value, 50,000), with either link
    attribute, and a marker at each vertex; a <use> loop is refused too."""
    for href in ("href", 'xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href'):
        bomb = sanitize_svg(_svg(_use_levels(8, 10, href)))
        assert isinstance(bomb, Refused), (href, bomb)
        assert "more than 50,000 SVG elements once its <use> references and markers are expanded" in str(bomb)
    # 20^3 circles drawn (8,000, plus each level's group and uses): kept; 20^4 (160,000): refused
    assert isinstance(sanitize_svg(_svg(_use_levels(3, 20))), bytes)
    assert isinstance(sanitize_svg(_svg(_use_levels(4, 20))), Refused)
    # exactly at the limit: the root, the kept rect, the <defs>, the group with its 24,997 <g/>, and the <use> drawing
    # that group again: 3 + 24,998 + 1 + 24,998 = 50,000
    at = sanitize_svg(_svg('<defs><g id="a">' + "<g/>" * 24_997 + '</g></defs><use href="#a"/>'))
    assert isinstance(at, bytes)
    over = sanitize_svg(_svg('<defs><g id="a">' + "<g/>" * 24_998 + '</g></defs><use href="#a"/>'))
    assert isinstance(over, Refused) and "once its <use> references and markers are expanded" in str(over)
    # a marker is drawn at each vertex: 1,000 circles on a path of 20,000 points (180 KB) drew 2*10^7 (2 minutes,
    # 2 GiB); an arrowhead on a short line is kept
    circles = '<circle r="0.4"/>' * 1000
    points = " ".join(f"L{i % 100} {i // 100}" for i in range(20_000))
    marked = sanitize_svg(_svg(f'<defs><marker id="m">{circles}</marker></defs>'
                               f'<path d="M0 0 {points}" marker-mid="url(#m)"/>'))
    assert isinstance(marked, Refused) and "markers are expanded" in str(marked)
    arrow = _svg('<defs><marker id="m"><path d="M0 0 L10 5 L0 10 z"/></marker></defs>'
                 '<line x1="0" y1="0" x2="9" y2="9" marker-end="url(#m)"/><polyline points="0,0 5,5 9,0"/>')
    assert isinstance(sanitize_svg(arrow), bytes)
    loop = sanitize_svg(_svg('<g id="a"><circle r="1"/><use href="#a"/></g>'))
    assert isinstance(loop, Refused) and "loop" in str(loop)
    (tmp_path / "bomb.svg").write_bytes(_svg(_use_levels(8, 10)))
    (tmp_path / "a.md").write_text("---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n"
                                   "## Q {#q .easy}\n\n![b](bomb.svg)\n")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "a.md")])
    assert result.exit_code == 0 and "a.md:9: image 'bomb.svg': more than 50,000 SVG elements once its <use>" \
        in result.output, result.output


def test_pixel_limit_is_read_from_the_header(tmp_path):
    side = int(60_000_000 ** 0.5) + 10  # the decode limit's real value: a test of the constant would follow it
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG")  # a few KiB on disk, 60+ megapixels decoded: too big to shrink
    refused = accept(buffer.getvalue())
    assert isinstance(refused, Refused) and "megapixel" in str(refused)
    side = int(40_000_000 ** 0.5) + 10  # over the pixel limit, within what may be decoded to shrink it
    Image.new("1", (side, side)).save(buffer := io.BytesIO(), "PNG")
    notes: list[str] = []
    shrunk = accept(buffer.getvalue(), notes)
    assert not isinstance(shrunk, Refused) and shrunk.pixels <= 40_000_000 and "shrunk" in notes[0]
    Image.new("1", (side - 20, side - 20)).save(buffer := io.BytesIO(), "PNG")
    kept = accept(buffer.getvalue())
    assert not isinstance(kept, Refused) and kept.data == buffer.getvalue()


def test_one_huge_image_is_left_out_and_the_others_still_show(tmp_path):
    bank = write_bank(tmp_path, BANK.replace("](images/resistor.png)", "](images/huge.png)"))
    side = int(60_000_000 ** 0.5) + 10  # too big even to shrink (the real value, not the constant)
    Image.new("1", (side, side)).save(bank / "images" / "huge.png")
    out = tmp_path / "b.epub"
    result = CliRunner().invoke(app, ["epub", str(bank), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "huge.png" in result.output and "megapixel" in result.output
    with zipfile.ZipFile(out) as zf:
        chapter = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("basics.xhtml"))
    assert "[image: a red resistor]" in chapter and 'alt="a green block"' in chapter


def test_a_cut_short_png_and_an_svg_with_nothing_left_to_draw_are_left_out_with_a_warning(tmp_path):
    """trial10 #14: a PNG whose data is cut (header fine) printed as a black square, an SVG whose every element was
    stripped as an empty box, both without a word: now the FILE:LINE warning and the alt text, as for a huge one."""
    bank = write_bank(tmp_path)
    whole = (bank / "images" / "resistor.png").read_bytes()
    (bank / "images" / "resistor.png").write_bytes(whole[:len(whole) // 2])  # the IDAT cut in the middle
    (bank / "images" / "block.svg").write_bytes(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><image href="file:///etc/passwd"/>'
        b'<script>alert(1)</script><foreignObject><p>x</p></foreignObject></svg>')
    out = tmp_path / "b.epub"
    env = {"QAEXPORT_STATE_DIR": str(tmp_path / "state"), "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}
    result = CliRunner().invoke(app, ["epub", str(bank), "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert ("physics.md:18: image 'images/resistor.png': damaged image: its pixel data does not decode (image "
            "file is truncated); save it again from the original. Left out") in said, said
    assert "physics.md:20: image 'images/block.svg': nothing left to draw" in said and "shapes, paths" in said, said
    with zipfile.ZipFile(out) as zf:
        chapter = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("basics.xhtml"))
        assert [n for n in zf.namelist() if n.endswith(".svg") and "cover" not in n and "wrap" not in n] == []
    assert "[image: a red resistor]" in chapter and "[image: a green block]" in chapter


def test_outside_and_url_images_warn_and_are_left_out(built):
    out = built["output"]
    assert "physics.md:20: image '../outside.png' is outside the bank folder" in out
    assert "physics.md:20: image 'https://example.com/a.png' is a URL" in out
    assert "physics.md:30: formula '\\notacommand{x}' cannot be typeset" in out  # as written: one backslash


# ---------------------------------------------------------------------------------------------- Anki


def test_anki_import_makes_a_card_per_deletion_with_media_and_live_math(built, tmp_path):
    with new_collection(tmp_path / "col") as col:
        import_deck(col, built["apkg"])
        cloze = col.models.get(CLOZE_MODEL_ID)
        assert cloze["name"] == CLOZE_MODEL_NAME and cloze["type"] == 1
        assert [f["name"] for f in cloze["flds"]] == ["Text", "Back Extra", "Difficulty", "Source", "Key"]
        assert ".nightMode" in cloze["css"]
        notes = {col.get_note(n)["Key"]: col.get_note(n) for n in col.find_notes("")}
        cards = {key: sorted(c.ord for c in note.cards()) for key, note in notes.items()}
        assert cards == {"science/physics/basics/light": [0, 1, 2], "science/physics/basics/energy": [0, 1],
                         "science/physics/basics/circuit": [0]}
        light = notes["science/physics/basics/light"]
        first = light.cards()[0]
        assert "[...]" in first.question() and "speed of light" not in first.question()
        assert "speed of light" in first.answer()
        hinted = light.cards()[1]
        assert "[how fast?]" in hinted.question()
        assert set(light.tags) >= {"difficulty::easy", "science::physics::basics"}
        media = sorted(p.name for p in Path(col.media.dir()).iterdir())
        assert len(media) == 3 and {Path(m).suffix for m in media} == {".png", ".svg"}
        circuit = notes["science/physics/basics/circuit"].cards()[0]
        assert 'alt="a red resistor"' in circuit.question()
        live = [s for s in mathjax_view(circuit.answer()).strings if "\\(" in s or "\\[" in s]
        assert live == ["\\(V = IR\\)", "\\[\\int_0^1 x^2\\,dx = \\frac{1}{3}\\]", "\\(a^2 + b^2\\)"]
        assert "$5 and $10" in circuit.answer() and "\\notacommand" not in "".join(live)
        energy = notes["science/physics/basics/energy"].cards()[1]
        assert "\\(E = mc^2\\)" in energy.question()  # deletion 1 is shown (not asked) on card 2


def test_images_reach_anki_once_under_their_content_names(built, tmp_path):
    """Each image is in the package under the hash of its bytes, so a collection that has it already is not sent
    a copy (importing again adds no file) and a changed image is a new name."""
    import hashlib

    with zipfile.ZipFile(built["apkg"]) as zf:
        names = json.loads(zf.read("media"))
        packed = {name: zf.read(number) for number, name in names.items()}
        cover, _alt = json.loads(zf.read(BANK_MEMBER))["cover"]  # packed for convert; no note shows it
    assert all(name == hashlib.sha256(data).hexdigest()[:16] + Path(name).suffix for name, data in packed.items())
    assert cover in packed
    with new_collection(tmp_path / "col") as col:
        import_deck(col, built["apkg"])
        first = sorted(p.name for p in Path(col.media.dir()).iterdir())
        import_deck(col, built["apkg"])
        shown = sorted(set(packed) - {cover})  # Anki imports the files its notes show
        assert sorted(p.name for p in Path(col.media.dir()).iterdir()) == first == shown


def _one_file_exporter(tmp_path: Path):
    """A bank of one file, ``b.md``, and a function that writes its questions and exports it to ``tmp_path/NAME``
    (one note-time ledger for every run; no build manifest: each run really builds), returning what the run said."""
    bank, env = tmp_path / "bank", {"QAEXPORT_STATE_DIR": str(tmp_path / "state")}
    bank.mkdir()
    head = "---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n"

    def export(text: str, name: str) -> str:
        (bank / "b.md").write_text(head + text, encoding="utf-8")
        result = CliRunner().invoke(app, ["anki", str(bank), "-o", str(tmp_path / name), "--no-cache"], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    return bank, export


def test_a_question_that_becomes_a_cloze_keeps_its_note_and_the_run_says_how_to_get_the_new_cards(tmp_path):
    """GUIDs qaexport wrote never change, and Anki's import leaves a note whose type changed as it was
    ("conflicting"): the export that changes it says so, once, with the way out (delete the old note, import
    again), which brings the cloze cards under the same GUID."""
    bank, export = _one_file_exporter(tmp_path)
    plain = "## What is the speed of light? {#light .easy}\n\n300,000 km/s\n\n## Other {#o .easy}\n\nx\n"
    cloze = "## Light is {{c1::300,000 km/s}} {{c2::fast}} {#light .easy}\n\n## Other {#o .easy}\n\nx\n"

    assert "became" not in export(plain, "a.apkg")
    said = export(cloze, "b.apkg")
    assert f"{bank / 'b.md'}:7: question 'light' became a cloze (it was a plain question)" in said
    assert 'delete the note in Anki (search "Key:f/t/s/light*"' in said
    assert '"Merge note types" ticked in the import options, the whole import fails' in said
    assert "became" not in export(cloze, "c.apkg")  # said once, by the run that changed it
    assert "question 'light' became a plain question (it was a cloze)" in export(plain, "d.apkg")
    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "a.apkg")
        counts = log_counts(import_deck(col, tmp_path / "b.apkg"))
        assert counts["conflicting"] == 1 and counts["new"] == 0, counts  # left as it was, as the run said
        (nid,) = col.find_notes('"Key:f/t/s/light"')
        assert col.get_note(nid).note_type()["name"] == MODEL_NAME
        col.remove_notes([nid])  # the way out the run gave
        assert log_counts(import_deck(col, tmp_path / "b.apkg"))["new"] == 1
        (nid,) = col.find_notes('"Key:f/t/s/light"')
        note = col.get_note(nid)
        assert note.note_type()["name"] == CLOZE_MODEL_NAME and sorted(c.ord for c in note.cards()) == [0, 1]
        assert note.guid == note_guid("f/t/s/light")  # the GUID it always had
    with new_collection(tmp_path / "merging") as col:  # "Merge note types" on: the whole import fails, as said
        import_deck(col, tmp_path / "a.apkg", merge_notetypes=True)
        with pytest.raises(Exception, match="Cloze note types cannot be merged"):
            import_deck(col, tmp_path / "b.apkg", merge_notetypes=True)
        col.remove_notes(list(col.find_notes('"Key:f/t/s/light"')))  # the same way out
        assert log_counts(import_deck(col, tmp_path / "b.apkg", merge_notetypes=True))["new"] == 1


# ---------------------------------------------------------------------------------------------- books


def _text(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def _images(pdf: Path) -> list[tuple[int, int]]:
    """The pixel size of every image the pages use (pypdf's ``page.images``; pikepdf's ``Page.images`` is
    deprecated, and its replacement ``get_images`` is only in pikepdf 10.18 while the project allows 9)."""
    return sorted(image.image.size for page in PdfReader(pdf).pages for image in page.images)


def _drawn_images(pdf: Path) -> list[tuple[int, tuple[int, int], tuple[float, float, float, float]]]:
    """(page index, pixel size, box on the page in pt) of every image PDFium finds drawn."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    found = []
    doc = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(doc)):
            for obj in doc[index].get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=5):
                meta = obj.get_metadata()
                found.append((index, (meta.width, meta.height), tuple(obj.get_bounds())))
    finally:
        doc.close()
    return found


def test_typesetting_leaves_the_root_logger_alone_and_stderr_holds_only_qaexports_lines(tmp_path):
    """ziafont logs through the root logger, whose first call configures it: every library's records then reached
    stderr (WeasyPrint's page progress, its CSS warnings). A real process with an empty cache draws every formula."""
    bank = write_bank(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "QAEXPORT_STATE_DIR": str(tmp_path / "state"),
           "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "qaexport", "pdf", str(bank), "-o", str(tmp_path / "b.pdf")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith("warning: ") for line in lines), result.stderr[:2000]


@pytest.mark.parametrize("name", ["pdf", "quiz.pdf"])
def test_pdf_prints_blanks_filled_answers_images_and_typeset_math(built, name):
    text = _text(built[name])
    squashed = " ".join(text.split())
    assert "The […] is about [how fast?] in […]" in squashed
    assert "The speed of light is about 300,000 km/s in vacuum" in squashed
    assert "mass and energy are equivalent" in squashed
    assert "\\frac" not in text and "\\int" not in text and "$5 and $10" in squashed
    assert "$\\notacommand{x}$" in squashed  # the broken formula, as code
    assert (40, 20) in _images(built[name])
    drawn = _drawn_images(built[name])
    assert [size for page, size, _box in drawn if page == 0] == [(60, 80)]  # the front matter's cover, on the cover
    (_page, _size, (left, _bottom, right, _top)), = [d for d in drawn if d[1] == (2400, 60)]
    assert 40 < left < right < 595.28 - 40  # the wide image scaled to the column, inside the page's margins


def test_cards_have_blanks_in_front_the_filled_text_behind_images_and_typeset_math(built):
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(built["cards"]).pages]
    assert len(pages) == 2  # a sheet of fronts, then its backs
    fronts, backs = pages
    assert "The […] is about [how fast?] in […]" in fronts and "speed of light" not in fronts
    assert "The speed of light is about 300,000 km/s in vacuum" in backs and "[how fast?]" not in backs
    assert "mass and energy are equivalent" in backs and "Special relativity, 1905." in backs
    assert "\\frac" not in backs and "$5 and $10" in backs
    assert "$\\notacommand{x}$" in backs.replace(" ", "")  # as code, which a card's line may break anywhere
    drawn = _drawn_images(built["cards"])
    assert {size for _page, size, _box in drawn} == {(40, 20), (2400, 60)}
    width = PdfReader(built["cards"]).pages[0].mediabox.width
    assert all(0 < box[0] < box[2] < width for _page, _size, box in drawn)  # inside the sheet


def test_the_tagged_pdf_gives_every_image_and_formula_its_alternate_text(built):
    """Screen readers get the alt text of each image and the TeX of each formula (the drawing's <title>)."""
    alts: list[str] = []

    def walk(node, depth=0):
        if depth > 80 or not isinstance(node, pikepdf.Dictionary):
            return
        if str(node.get("/S", "")) == "/Figure":
            alts.append(str(node.get("/Alt", "")))
        kids = node.get("/K")
        for kid in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
            walk(kid, depth + 1)

    with pikepdf.open(built["tagged.pdf"]) as pdf:
        walk(pdf.Root.StructTreeRoot)
    assert sorted(alts) == sorted(["Cover image", "a red resistor", "a green block", "a wide banner", "E = mc^2",
                                   "V = IR", "\\int_0^1 x^2\\,dx = \\frac{1}{3}", "a^2 + b^2"])


def test_epub_has_mathml_and_images_with_alt(built):
    with zipfile.ZipFile(built["epub"]) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    chapter = next(v.decode() for k, v in files.items() if k.endswith("basics.xhtml"))
    opf = next(v.decode() for k, v in files.items() if k.endswith(".opf"))
    assert "<math " in chapter and 'alttext="V = IR"' in chapter and "math-svg" not in chapter
    assert re.search(r'href="[^"]*basics\.xhtml"[^>]*properties="mathml"|properties="mathml"[^>]*basics', opf)
    assert 'alt="a red resistor"' in chapter and 'alt="a green block"' in chapter
    cover = files["EPUB/cover.xhtml"].decode()
    (name,) = re.findall(r'<img src="([0-9a-f]{16}\.png)" alt="Cover image"', cover)  # the front matter's cover
    assert re.search(rf'<item [^>]*href="{name}"[^>]*properties="cover-image"', opf), opf
    assert Image.open(io.BytesIO(files[f"EPUB/{name}"])).size == (60, 80) and "EPUB/cover.svg" not in files
    svg = next(v for k, v in files.items() if k.endswith(".svg") and "cover" not in k and "wrap" not in k)
    assert b"onload" not in svg and b"script" not in svg
    with zipfile.ZipFile(built["quiz.epub"]) as zf:
        quiz = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("basics.xhtml"))
    questions, key = quiz.split('class="answers-title"', 1)  # the quiz's answer key: the filled text
    assert "[how fast?]" in questions and "300,000 km/s" not in questions
    assert '<span class="cloze">300,000 km/s</span>' in key and '<span class="cloze">equivalent</span>' in key


@pytest.mark.slow  # a JVM a book: ~7 s of CPU each
@pytest.mark.parametrize("name", ["epub", "quiz.epub"])
def test_epubcheck_finds_nothing_in_the_books_of_cloze_images_and_math(built, name):
    counts, report = run_epubcheck(built[name])
    assert counts == CLEAN, report


@pytest.mark.slow
@pytest.mark.parametrize("name", ["epub", "quiz.epub"])
def test_ace_by_daisy_finds_no_violation(built, name):
    """Blanks, the filled text, images with their alt text, MathML with its TeX as alttext: accessible."""
    from tests.system_tools import ace_violations

    assert ace_violations(built[name]) == []


# ---------------------------------------------------------------------------------------------- site


@pytest.mark.slow
def test_the_site_shows_blanks_the_filled_text_images_and_mathml(built):
    """In headless Chromium, from file://: the question's blanks, the filled text once revealed, the images drawn
    with their alt text, formulas as MathML (the print drawing left out), axe-core 0."""
    from tests.browser import axe_violations, launched, watch

    with launched() as browser:
        page = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True).new_page()  # for axe
        seen = watch(page)
        page.goto((built["site"] / "science" / "physics" / "basics.html").as_uri())
        light = page.locator("#q-light")
        heading = " ".join(light.locator("h2").inner_text().split())
        assert "The […] is about [how fast?] in […]" in heading and "speed of light" not in heading
        light.locator("button.reveal").click()
        assert "The speed of light is about 300,000 km/s in vacuum" in " ".join(
            light.locator(".answer").inner_text().split())
        page.locator("#reveal-all").click()
        drawn = page.evaluate("[...document.images].map(i => [i.alt, i.naturalWidth, i.getBoundingClientRect().right])")
        assert ["a red resistor", 40] in [d[:2] for d in drawn] and ["a green block", 40] in [d[:2] for d in drawn]
        assert all(d[2] <= 360 for d in drawn)  # nothing past the phone's edge
        alts = page.eval_on_selector_all("math", "ms => ms.map(m => [m.getAttribute('alttext'), "
                                                 "m.getBoundingClientRect().width])")
        assert {a for a, _w in alts} == {"E = mc^2", "V = IR", "\\int_0^1 x^2\\,dx = \\frac{1}{3}", "a^2 + b^2"}
        assert all(w > 10 for _a, w in alts) and page.locator(".math-svg").count() == 0
        assert axe_violations(page) == []
        assert seen.problems() == []
    index = (built["site"] / "assets" / "search-index.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("{"):index.rindex("}") + 1])["terms"]
    assert {"frac", "int_0", "mc"} <= set(terms)  # formulas are searched as they were written (TeX)


@pytest.mark.slow
def test_serve_previews_each_cloze_card_with_its_formulas_typeset(built, tmp_path):
    """qaexport serve's preview of a cloze note: the frames of each card (its number on the card's body, as in
    Anki), its formulas typeset (the frames run no MathJax), axe-core 0."""
    from tests.browser import axe_violations, launched, watch
    from tests.test_serve import serving

    with serving(built["bank"], tmp_path) as (_proc, url), launched() as browser:
        page = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True).new_page()
        seen = watch(page)
        page.goto(url + "__serve__/question/science/physics/basics/light")
        front = page.frame_locator('iframe[title="Card 2, front, phone, day"]')
        back = page.frame_locator('iframe[title="Card 2, back, phone, day"]')
        assert " ".join(front.locator(".question").inner_text().split()) == \
            "The speed of light is about [how fast?] in vacuum"
        assert back.locator(".cloze").inner_text() == "300,000 km/s"
        assert front.locator("body").get_attribute("class") == "card card2"
        assert axe_violations(page) == []
        page.goto(url + "__serve__/question/science/physics/basics/energy")
        frame = page.frame_locator('iframe[title="Card 2, back, phone, day"]')
        assert frame.locator("math").count() == 1 and "\\(" not in frame.locator(".question").inner_text()
        assert seen.problems() == []


# ---------------------------------------------------------------------------------------------- convert


def test_convert_writes_the_syntax_back_and_again_the_same_bytes(built, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    qaexport("convert", str(built["bank"]), "-o", str(first))
    qaexport("convert", str(first), "-o", str(second))
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    text = (first / "science" / "physics" / "01-basics.md").read_text()
    assert "{{c2::300,000 km/s::how fast?}}" in text and "## Einstein wrote {{c1::$E = mc^2$}}: mass" in text
    assert re.search(r"!\[a red resistor\]\(media/[0-9a-f]{16}\.png\)", text)
    assert "$$\n\\int_0^1 x^2\\,dx = \\frac{1}{3}\n$$" in text
    assert len([f for f in files if "/media/" in f]) == 4  # the PNGs, the sanitised SVG and the cover
    assert re.search(r"^cover: media/[0-9a-f]{16}\.png$", text, re.M)


def test_a_bank_that_starts_with_a_cloze_is_not_said_to_have_become_one(tmp_path):
    """The first export of a cloze creates the note-time ledger: the note's type is recorded with it, so the next
    export (nothing changed) says nothing, and only a real change is said."""
    _bank, export = _one_file_exporter(tmp_path)
    cloze = "## Light is {{c1::300,000 km/s}} {#light .easy}\n\n## Other {#o .easy}\n\nx\n"
    plain = "## What is the speed of light? {#light .easy}\n\n300,000 km/s\n\n## Other {#o .easy}\n\nx\n"

    assert "became" not in export(cloze, "a.apkg")
    assert "became" not in export(cloze, "b.apkg")
    assert "question 'light' became a plain question (it was a cloze)" in export(plain, "c.apkg")


def test_a_malformed_svg_is_refused_with_the_parsers_whole_clause():
    """lxml's message ends with "(<string>, line 1)", which a cut at 80 characters left as "(<string>, lin": the
    message alone (it says where), one line, controls escaped, cut only after a whole word."""
    said = str(sanitize_svg(b"<svg><unclosed"))
    assert said == "not a well-formed SVG file (Couldn't find end of Start Tag unclosed, line 1, column 15)", said
    long = str(sanitize_svg(b"<svg><" + b"a" * 300 + b"\x1b"))
    assert "<string>" not in long and "\x1b" not in long and len(long) < 140, long
    assert long.endswith(("…)", "column 307)")), long


def test_an_svg_over_the_parsers_limits_is_said_in_the_authors_terms():
    """trial10 #18: an entity bomb said "…see xmlCtxtSetMaxAmplification", a deep file "use XML_PARSE_HUGE option":
    libxml2's advice to a programmer. Now what is wrong with the file and what to change in it."""
    levels = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "x" * 10}">' for i in range(9))
    bomb = str(sanitize_svg(_svg("<text>&e8;</text>", head=f"<!DOCTYPE svg [{levels}]>")))
    deep = str(sanitize_svg(_svg("<g>" * 300 + "</g>" * 300)))
    long = str(sanitize_svg(_svg(f"<text>{'a' * 10_000_001}</text>")))
    for said in (bomb, deep, long):
        assert "XML_PARSE" not in said and "xmlCtxt" not in said and "well-formed" not in said, said
    assert bomb.startswith("its entities expand too much") and "remove the <!DOCTYPE" in bomb, bomb
    assert deep.startswith("its elements nest more than 256 deep; flatten the groups (<g>)") and "line 1" in deep
    assert long.startswith("a text, name or attribute in it is too long") and "shorten it" in long, long
