"""Flashcards, read back with PDFium text positions: every face in its own cell, backs behind fronts.

The expected grids are worked out here from the stock sizes (not taken from the exporter): A7 is
105×74 mm, 2×4 on A4 (margins 0 and 0.5 mm); a business card is 85×55 mm, 2×5 on letter.
"""

from __future__ import annotations

import collections
import ctypes
import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport import sources
from qaexport.cli import app
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write
from tests.tools import page_bitmaps

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

PT_PER_MM = 72 / 25.4
TOL = 0.3  # mm: glyph boxes are exact to a few hundredths; this is only rounding room


@dataclass(frozen=True)
class Layout:
    paper: tuple[float, float]
    card: tuple[float, float]
    cols: int
    rows: int

    def cell(self, row: int, col: int, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float, float, float]:
        mx = (self.paper[0] - self.cols * self.card[0]) / 2
        my = (self.paper[1] - self.rows * self.card[1]) / 2
        x, y = mx + col * self.card[0] + dx, my + row * self.card[1] + dy
        return x, y, x + self.card[0], y + self.card[1]

    def cells(self, dx: float = 0.0, dy: float = 0.0) -> dict[tuple[int, int], tuple[float, float, float, float]]:
        return {(r, c): self.cell(r, c, dx, dy) for r in range(self.rows) for c in range(self.cols)}


A7_ON_A4 = Layout((210.0, 297.0), (105.0, 74.0), 2, 4)
BUSINESS_ON_LETTER = Layout((215.9, 279.4), (85.0, 55.0), 2, 5)


@dataclass
class Char:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float  # mm from the top-left corner of the page
    size: float  # pt, as drawn


def read_chars(path: Path) -> list[list[Char]]:
    """Every character of every page with its box (mm, top-down) and drawn size (pt)."""
    pdf = pdfium.PdfDocument(str(path))
    pages = []
    matrix = pdfium_raw.FS_MATRIX()
    for index in range(len(pdf)):
        pg = pdf[index]
        height = pg.get_height()
        tp = pg.get_textpage()
        chars = []
        for i in range(tp.count_chars()):
            ch = chr(pdfium_raw.FPDFText_GetUnicode(tp.raw, i)).replace("\x02", "-")  # PDFium: hyphen at line end
            if not ch.strip():
                ch = " "  # kept (it separates words), but never checked for position
            left, bottom, right, top = tp.get_charbox(i)
            pdfium_raw.FPDFText_GetMatrix(tp.raw, i, ctypes.byref(matrix))
            scale = abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
            size = pdfium_raw.FPDFText_GetFontSize(tp.raw, i) * scale
            chars.append(Char(ch, left / PT_PER_MM, (height - top) / PT_PER_MM, right / PT_PER_MM,
                              (height - bottom) / PT_PER_MM, size))
        pages.append(chars)
    return pages


def cell_texts(page: list[Char], layout: Layout, dx: float = 0.0, dy: float = 0.0) -> dict[tuple[int, int], str]:
    """The text inside each cell (characters whose centre lies in it), whitespace removed."""
    out = {}
    for key, (x0, y0, x1, y1) in layout.cells(dx, dy).items():
        out[key] = "".join(c.text for c in page if x0 <= (c.x0 + c.x1) / 2 <= x1 and y0 <= (c.y0 + c.y1) / 2 <= y1)
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def plain(rendered_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", rendered_html))


LABEL = re.compile(r"#\s*(\d+)(?:\s+(\d+/\d+))?")


def labels(text: str) -> tuple[int, str] | None:
    """The card number and part ("1/2" or "") printed in a cell's header."""
    m = LABEL.search(text)
    return (int(m.group(1)), m.group(2) or "") if m else None


def index_cards(pages: list[list[Char]], layout: Layout, dx: float = 0.0, dy: float = 0.0
                ) -> dict[str, dict[tuple[int, str], tuple[int, tuple[int, int], str]]]:
    """Where each (number, part) sits: side → {(number, part): (page index, (row, col), cell text)}."""
    found: dict[str, dict] = {"front": {}, "back": {}}
    for index, pg in enumerate(pages):
        side = "front" if index % 2 == 0 else "back"
        shift = (dx, dy) if side == "back" else (0.0, 0.0)
        for key, text in cell_texts(pg, layout, *shift).items():
            label = labels(text)
            if label:
                assert label not in found[side], f"{label} twice on {side} pages"
                found[side][label] = (index, key, text)
    return found


def build(tmp: Path, name: str, *args: str) -> Path:
    target = tmp / f"{name}.pdf"
    qaexport("cards", *args, "-o", str(target))
    return target


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cards")


@pytest.fixture(scope="module")
def long_bank(out: Path) -> Path:
    prose = "\n\n".join(f"Paragraph {i}: " + " ".join(f"word{i}x{j}" for j in range(60)) for i in range(14))
    code = "\n".join(f"line_{n:03d} = compute({n})  # step {n} of the long listing" for n in range(1, 151))
    qs = [
        question("prose", "hard", "Explain everything about deployment?", prose + "\n\nFinal words: the end marker."),
        question("code", "medium", "Show the whole configuration module?",
                 f"Here it is:\n\n```python\n{code}\n```\n\nAfter the code: closing remark."),
        question("short", "easy", "Is this short?", "Yes, quite short."),
        # A question too long for one card with a short answer: the answer, which fits, is measured without a part
        # and must still show "1/n" on its card.
        question("asked", "easy", "Why " + " ".join(f"ask{j}" for j in range(700)) + "?", "Because, in short."),
    ]
    return write(out / "long.json", page([subtopic("long", "Long Answers", qs)]))


class Lazy(dict):
    """Built on first use and kept for the module: a test selected alone builds only what it reads."""

    def __init__(self, make) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, name: str):
        self[name] = value = self.make(name)
        return value


@pytest.fixture(scope="module")
def laid_out():
    """What each build gave ``lay_out_faces`` (its cards, CSS, media and fonts), by output path: enough to lay the
    same sheets out the way they were made before imposition (``reference_sheets``)."""
    from qaexport.exporters import cards

    seen: dict[str, tuple] = {}
    real = cards.lay_out_faces

    def spy(made, css, folder, advance, label, media, files, workers):
        seen[label] = (made, css, media, files)
        return real(made, css, folder, advance, label, media, files, workers)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cards, "lay_out_faces", spy)
        yield seen


@pytest.fixture(scope="module")
def pdfs(out: Path, sample_path: Path, long_bank: Path, laid_out) -> dict[str, Path]:
    sample = str(sample_path)
    business = ("--size", "business", "--paper", "letter", "--duplex", "short-edge", "-d", "medium")
    recipes = {
        "a7": (sample,),
        "business": (sample, *business),
        "offset": (sample, *business, "--back-offset", "3,-2"),
        "none": (sample, "--duplex", "none", "--topic", "middleware"),
        "long": (str(long_bank),),
        "calibrate": (sample, "--calibrate"),
        "calibrate-short": (sample, "--calibrate", "--duplex", "short-edge"),
    }
    return Lazy(lambda name: build(out, name, *recipes[name]))


@pytest.fixture(scope="module")
def chars(pdfs: dict[str, Path]) -> dict[str, list[list[Char]]]:
    return Lazy(lambda name: read_chars(pdfs[name]))


def _library(path: Path, difficulty: str | None = None, topic: str | None = None):
    from qaexport.model import Difficulty

    lib = sources.load([path])
    return lib.filtered({Difficulty.parse(difficulty)} if difficulty else None, {topic} if topic else None)


def _rendered(path: Path):
    from qaexport.render import Highlighter, Scheme, render_library

    lib = sources.load([path])
    return lib, render_library(lib, Highlighter(), [Scheme.COMPACT])[Scheme.COMPACT]


def test_fronts_on_odd_pages_backs_on_even(pdfs, chars, sample_path):
    reader = PdfReader(pdfs["a7"])
    assert len(reader.pages) % 2 == 0
    assert len(reader.pages) == 2 * -(-_cards_needed(chars["a7"]) // 8)
    assert {(round(float(p.mediabox.width) / PT_PER_MM), round(float(p.mediabox.height) / PT_PER_MM))
            for p in reader.pages} == {(210, 297)}
    lib, rendered = _rendered(sample_path)
    fronts = squash("".join(c.text for i, pg in enumerate(chars["a7"]) for c in pg if i % 2 == 0))
    backs = squash("".join(c.text for i, pg in enumerate(chars["a7"]) for c in pg if i % 2 == 1))
    for ref in lib.questions():
        q = squash(plain(rendered[ref.question.key].question))
        assert q in fronts and q not in backs, q
        tail = squash(" ".join(plain(rendered[ref.question.key].answer).split()[-4:]))
        assert tail in backs and tail not in fronts, tail


def _cards_needed(pages: list[list[Char]]) -> int:
    return len(index_cards(pages, A7_ON_A4)["front"])


def _check_pairs(pages, layout: Layout, mirror, dx: float = 0.0, dy: float = 0.0) -> int:
    cards = index_cards(pages, layout, dx, dy)
    assert cards["front"] and cards["front"].keys() == cards["back"].keys()
    for label, (front_page, (row, col), _text) in cards["front"].items():
        back_page, back_cell, _ = cards["back"][label]
        assert back_page == front_page + 1, label
        assert back_cell == mirror(row, col), (label, (row, col), back_cell)
    return len(cards["front"])


def test_long_edge_backs_in_the_mirrored_column_same_row(chars):
    assert _check_pairs(chars["a7"], A7_ON_A4, lambda r, c: (r, 1 - c)) >= 34


def test_short_edge_backs_in_the_same_column_mirrored_row(chars):
    assert _check_pairs(chars["business"], BUSINESS_ON_LETTER, lambda r, c: (4 - r, c)) >= 10


def test_no_duplex_backs_in_the_same_cell(chars):
    assert _check_pairs(chars["none"], A7_ON_A4, lambda r, c: (r, c)) >= 3


def test_answers_complete_in_their_own_cell(chars, sample_path):
    """The last words of every answer are in the back cell of its (last) card; every face's number matches."""
    lib, rendered = _rendered(sample_path)
    cards = index_cards(chars["a7"], A7_ON_A4)
    for number, ref in enumerate(lib.questions(), 1):
        parts = sorted(label for label in cards["back"] if label[0] == number)
        assert parts, number
        answer = plain(rendered[ref.question.key].answer)
        last = cards["back"][parts[-1]][2]
        assert squash(" ".join(answer.split()[-4:])) in squash(last), (number, answer[-80:])
        first = cards["back"][parts[0]][2]
        front = cards["front"][parts[0]][2]
        assert squash(" ".join(answer.split()[:3])) in squash(first), number
        assert squash(plain(rendered[ref.question.key].question)) in squash(front)
        assert squash(ref.subtopic.name) in squash(front)
        assert ref.question.difficulty.label.upper() in front and ref.question.difficulty.label.upper() in first


@pytest.mark.parametrize(("name", "layout", "dx", "dy"), [
    ("a7", A7_ON_A4, 0, 0), ("business", BUSINESS_ON_LETTER, 0, 0), ("offset", BUSINESS_ON_LETTER, 3, -2),
    ("none", A7_ON_A4, 0, 0), ("long", A7_ON_A4, 0, 0)])
def test_no_text_crosses_a_cell_or_the_page_edge(chars, name, layout, dx, dy):
    for index, pg in enumerate(chars[name]):
        shift = (dx, dy) if index % 2 else (0, 0)
        cells = list(layout.cells(*shift).values())
        for c in pg:
            if c.text == " ":
                continue
            assert c.x0 >= -TOL and c.x1 <= layout.paper[0] + TOL and c.y0 >= -TOL and c.y1 <= layout.paper[1] + TOL
            inside = [cell for cell in cells if cell[0] - TOL <= c.x0 and c.x1 <= cell[2] + TOL
                      and cell[1] - TOL <= c.y0 and c.y1 <= cell[3] + TOL]
            assert len(inside) == 1, (name, index + 1, c)
            assert c.size >= 6.95, (name, index + 1, c)  # the readable minimum is 7 pt


def _document_texts(path: Path, fronts: bool = False) -> dict[str, str]:
    """The whole document's text (``fronts``: its fronts' pages') as two readers extract it (a search, a screen
    reader), whitespace removed."""
    doc = pdfium.PdfDocument(str(path))
    step = 2 if fronts else 1
    try:
        by_pdfium = "".join(doc[i].get_textpage().get_text_range() for i in range(0, len(doc), step))
    finally:
        doc.close()
    by_pypdf = "".join(p.extract_text() or "" for p in PdfReader(path).pages[::step])
    return {"pdfium": squash(by_pdfium), "pypdf": squash(by_pypdf)}


@pytest.mark.parametrize("name", ["a7", "long"])
def test_every_question_and_head_reads_once(pdfs, laid_out, sample_path, long_bank, name):
    """A question moved to the middle of its card is one page drawn in two pieces (its head where it is, its body
    lower): each piece draws only its own text, so a search or a screen reader meets every question, and every
    card's "#number", once per card. The banks have such questions alone on their card and first of several."""
    path = pdfs[name]
    made = laid_out[str(path)][0]
    lifted = [card for card in made if card.front_kept is not None and card.front_kept.lift > 0]
    assert any(card.front_label is None for card in lifted)  # one-card questions with room to spare
    if name == "long":
        assert any(card.front_label is not None for card in lifted)  # the first of several cards
    lib, rendered = _rendered(sample_path if name == "a7" else long_bank)
    cards = index_cards(read_chars(path), A7_ON_A4)
    fronts = [squash(cell) for _page, _key, cell in cards["front"].values()]
    questions = [squash(plain(rendered[ref.question.key].question)) for ref in lib.questions()]
    whole = [asked for asked in questions if any(asked in cell for cell in fronts)]  # not the long bank's fourth
    assert len(whole) == len(questions) - (name == "long")
    for reader, text in _document_texts(path).items():
        for asked in whole:
            assert text.count(asked) == 1, (reader, text.count(asked), asked)
    for reader, text in _document_texts(path, fronts=True).items():
        # "#n" and its "k/t" (drawn apart on a first card kept from measuring: read apart by pypdf), one a card
        total = collections.Counter(number for number, _part in cards["front"])
        heads = {n: len(re.findall(rf"#{n}" + (rf"(?:\d+/{t})?" if t > 1 else "") + r"(?![\d/])", text))
                 for n, t in total.items()}
        assert heads == total, reader


def test_back_offset_moves_every_back_page(chars):
    plain_pages, shifted = chars["business"], chars["offset"]
    assert len(plain_pages) == len(shifted)
    for index, (a, b) in enumerate(zip(plain_pages, shifted, strict=True)):
        assert [c.text for c in a] == [c.text for c in b]
        dx, dy = (3.0, -2.0) if index % 2 else (0.0, 0.0)
        for ca, cb in zip(a, b, strict=True):
            assert abs(cb.x0 - ca.x0 - dx) < 0.02 and abs(cb.y0 - ca.y0 - dy) < 0.02, (index + 1, ca, cb)


def test_long_answers_continue_on_numbered_cards(chars, long_bank):
    lib, rendered = _rendered(long_bank)
    cards = index_cards(chars["long"], A7_ON_A4)
    by_number: dict[int, list[str]] = {}
    for number, part in cards["back"]:
        by_number.setdefault(number, []).append(part)
    assert by_number[3] == [""]  # the short one is a single card
    for number in (1, 2, 4):  # 4: a long question; its short answer fits the first card and says "1/n"
        parts = sorted(by_number[number], key=lambda p: int(p.split("/")[0]))
        total = len(parts)
        assert total >= 2 and parts == [f"{k}/{total}" for k in range(1, total + 1)], parts
        for k, part in enumerate(parts, 1):
            front = cards["front"][(number, part)][2]
            assert ("(continued)" in front) == (k > 1), (number, part)
    backs = [cards["back"][(1, p)][2] for p in sorted(by_number[1], key=lambda p: int(p.split("/")[0]))]
    text = squash("".join(backs))
    words = [w for w in plain(rendered[next(lib.questions()).question.key].answer).split() if w.startswith("word")]
    positions = [text.find(w) for w in words]  # every word, each once, in order
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert "endmarker." in squash(backs[-1])
    code_backs = squash("".join(cards["back"][(2, p)][2]
                                for p in sorted(by_number[2], key=lambda p: int(p.split("/")[0]))))
    lines = [code_backs.find(f"line_{n:03d}=compute({n})") for n in range(1, 151)]
    assert all(p >= 0 for p in lines) and lines == sorted(lines), "a code line is missing or out of order"
    assert "closingremark." in code_backs


def test_an_answer_on_more_than_three_cards_is_named_once(out, long_bank):
    """The prose and the code answers and the long question take more than three cards each, the short one a
    single card: one warning names each of the long ones, once."""
    from typer.testing import CliRunner

    from qaexport.cli import app

    target = out / "long-warned.pdf"
    result = CliRunner().invoke(app, ["cards", str(long_bank), "-o", str(target)])
    assert result.exit_code == 0, result.output
    parts: dict[int, int] = {}
    for number, _ in index_cards(read_chars(target), A7_ON_A4)["back"]:
        parts[number] = parts.get(number, 0) + 1
    warned = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert sorted(number for number, count in parts.items() if count > 3) == [1, 2, 4] and parts[3] == 1, parts
    assert len(warned) == 3, result.output
    for line, (number, qid) in zip(warned, ((1, "prose"), (2, "code"), (4, "asked")), strict=True):
        assert f"question {qid!r} (fastapi/deployment/long/{qid}) takes {parts[number]} cards" in line, line
        assert "(continued)" in line and "shorten its answer or split it" in line


def test_the_search_guesses_only_what_to_measure_never_the_cards(out, long_bank, monkeypatch):
    """Where a card ends is found by a search whose guesses (the model's heights, or as much text as the previous
    card took; an answer too long even at 7 pt cut without being measured whole there) decide only what is
    measured: with every guess a plain bisection, no model and every answer measured whole at each size, the long
    bank's cards are the same (each card's text and size, each page's text). The long prose answer was not
    measured whole at 7 pt with the guesses, and was without them."""
    from qaexport.exporters import cards
    from qaexport.exporters.cards import layout, metrics

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(layout, "can_fork", lambda: False)  # the search runs here (its batches too, one core)
    monkeypatch.setattr(cards, "cores", lambda: 1)
    measured: list[str] = []
    real = layout._measure

    def spy(batch, *args):
        measured.extend(batch.faces)
        return real(batch, *args)

    monkeypatch.setattr(layout, "_measure", spy)
    cut: list[list[tuple[str, float]]] = []
    fit = layout.fit_faces

    def cards_of(*args, **kwargs):
        fitted = fit(*args, **kwargs)
        cut[:] = [[(part.html, part.size) for part in parts] for parts in fitted.parts]
        return fitted

    monkeypatch.setattr(layout, "fit_faces", cards_of)

    def make(name: str) -> tuple[tuple, bool]:
        measured.clear()
        result = CliRunner().invoke(app, ["cards", str(long_bank), "-o", str(out / name), "--no-cache"])  # built
        assert result.exit_code == 0, result.output
        whole_at_7 = any("font-size: 7.00pt" in face and "word0x0" in face and "the end marker" in face
                         for face in measured)
        # The faces kept are drawn in whichever measuring document measured them, so the bytes differ: the cards
        # (each part's text and size) and the pages' text are what must not.
        texts = [page.extract_text() for page in PdfReader(out / name).pages]
        return (list(cut), texts), whole_at_7

    guessed, measured_whole = make("guessed.cards.pdf")
    assert not measured_whole
    monkeypatch.setattr(layout, "_hopeless", lambda *_args: None)
    monkeypatch.setattr(layout, "_interpolate", lambda good, bad, *_args: (good + bad) // 2)
    monkeypatch.setattr(metrics.TextModel, "height", lambda *_args: None)  # no model: every size measured
    monkeypatch.setattr(metrics.TextModel, "weights", lambda *_args: None)
    plain, measured_whole = make("plain.cards.pdf")
    assert measured_whole
    assert guessed == plain


def test_code_keeps_the_theme(pdfs):
    """Highlighted tokens are drawn in the theme's colours (the code's comments, in the default theme)."""
    from pygments.styles import get_style_by_name
    from pygments.token import Comment

    hex_colour = get_style_by_name("default").style_for_token(Comment.Single)["color"]
    comment = tuple(int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))
    pdf = pdfium.PdfDocument(str(pdfs["long"]))
    colours = set()
    for pg in pdf:
        for obj in pg.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_TEXT]):
            r, g, b, a = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
            pdfium_raw.FPDFPageObj_GetFillColor(obj.raw, r, g, b, a)
            colours.add((r.value, g.value, b.value))
    assert comment in colours


def _calibration_labels(pg: list[Char], paper: tuple[float, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Ruler labels: the horizontal ruler's (15 mm below the centre) by x, the vertical one's (15 mm right) by y."""
    cx, cy = paper[0] / 2, paper[1] / 2
    words: list[list[Char]] = []
    for c in pg:
        if c.text == " ":
            words.append([])
            continue
        last = words[-1][-1] if words and words[-1] else None
        if last and abs(c.y1 - last.y1) < 1 and 0 <= c.x0 - last.x1 < 1:
            words[-1].append(c)
        else:
            words.append([c])
    horizontal, vertical = {}, {}
    for w in filter(None, words):
        text = "".join(c.text for c in w)
        if not re.fullmatch(r"[+-]?\d+", text):
            continue
        x, y = (w[0].x0 + w[-1].x1) / 2, (w[0].y0 + w[0].y1) / 2
        if abs(w[0].x0 - cx - 19.8) < 1:
            vertical[text] = y - cy
        elif abs(y - cy - 20.8) < 1.5:
            horizontal[text] = x - cx
    return horizontal, vertical


def test_calibration_sheet_reads_the_offset_on_either_side(pdfs, chars):
    for name, front_x, front_y in (("calibrate", 1, -1), ("calibrate-short", -1, 1)):
        assert len(PdfReader(pdfs[name]).pages) == 2
        text = ["".join(c.text for c in pg) for pg in chars[name]]
        assert all("--back-offset" in t and "cross" in t for t in text)
        (fh, fv), (bh, bv) = (_calibration_labels(pg, A7_ON_A4.paper) for pg in chars[name])
        # On the back, label L sits L mm right of / below the centre; the front reads through the turn.
        assert set(bh) == set(bv) == set(fh) == set(fv) == {"-10", "-5", "0", "+5", "+10"}
        for label in ("-10", "+5"):
            value = int(label)
            assert abs(bh[label] - value) < 0.3 and abs(bv[label] - value) < 0.3
            assert abs(fh[label] - value * front_x) < 0.3 and abs(fv[label] - value * front_y) < 0.3


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "business", "--per-page", "7"], "--per-page 7"),
    (["--back-offset", "three"], "--back-offset"),
    (["--back-offset", "40,0"], "within"),
    (["--calibrate", "--duplex", "none"], "--calibrate"),
])
def test_usage_errors_write_nothing(tmp_path, sample_path, args, message):
    target = tmp_path / "cards.pdf"
    result = CliRunner().invoke(app, ["cards", str(sample_path), *args, "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "error:" in result.output
    assert not target.exists() and not list(tmp_path.iterdir())


def test_per_page_makes_a_smaller_grid(out, sample_path):
    pdf = build(out, "per-page", str(sample_path), "--size", "business", "--per-page", "4", "-d", "easy")
    easy = sum(1 for _ in _library(sample_path, "easy").questions())
    pages = read_chars(pdf)
    four = Layout((210.0, 297.0), (85.0, 55.0), 2, 2)
    assert _check_pairs(pages, four, lambda r, c: (r, 1 - c)) >= easy


def test_hostile_content_stays_text(out):
    """Markup in questions, answers and names is printed as text; nothing is fetched or embedded."""
    from tests.test_hardening import HOSTILE_QUESTION
    from tests.test_render import HOSTILE

    src = write(out / "hostile.json", page([subtopic("xss", "XSS <b>bold</b>", [
        question("evil", "hard", q=HOSTILE_QUESTION, a=HOSTILE),
        question("css", "easy", q="CSS `url()` tricks?",
                 a='<div style="background:url(file:///etc/passwd)">x</div> [c](data:text/css,body{}) '
                   "<style>@import url(https://evil.example/x.css);</style>"),
    ])]))
    reader = PdfReader(build(out, "hostile", str(src)))
    text = " ".join(" ".join((p.extract_text() or "").replace("\x00", "").split()) for p in reader.pages)
    assert "<script>alert(1)</script>" in text and "XSS <b>bold</b>" in text
    assert "root:x:0:0" not in text and "\u202e" not in text
    assert all(not p.images for p in reader.pages)
    for p in reader.pages:
        for annot in p.get("/Annots") or []:
            uri = str(annot.get_object().get("/A", {}).get("/URI", ""))
            assert uri.startswith(("http://", "https://", "mailto:")) or not uri, uri


def test_library_media_are_embedded_and_fit(out):
    """An Anki deck's image is served to the layout (measuring and sheets alike) and stays inside its card."""
    from tests.apkg_decks import build_packages

    deck = build_packages(out / "apkg")["current"]
    pdf = build(out, "media", str(deck))
    images: dict[int, tuple[int, int]] = {}

    def walk(resources) -> None:  # a sheet draws each card as a form XObject, which draws the image
        for ref in (resources.get("/XObject", {}) or {}).values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                images[ref.idnum] = (int(obj["/Width"]), int(obj["/Height"]))
            elif obj.get("/Subtype") == "/Form":
                walk(obj.get("/Resources", {}))

    for p in PdfReader(pdf).pages:
        walk(p.get("/Resources", {}))
    assert list(images.values()) == [(8, 8)]  # the deck's one PNG
    pages = read_chars(pdf)
    assert len(pages) % 2 == 0
    cells = list(A7_ON_A4.cells().values())
    for pg in pages:
        for c in pg:
            if c.text != " ":
                assert any(x0 - TOL <= c.x0 and c.x1 <= x1 + TOL and y0 - TOL <= c.y0 and c.y1 <= y1 + TOL
                           for x0, y0, x1, y1 in cells), c


def test_cards_laid_out_at_once_are_the_cards_laid_out_in_one_process(tmp_path, sample_path, monkeypatch):
    """On several cores the faces are measured and laid out in several documents at once and imposed from all of
    them: the same pages to the pixel as from one document, the same metadata and identifier, and no outline
    (headings in answers make no bookmarks)."""
    import pikepdf

    from qaexport.exporters import cards
    from qaexport.exporters.cards import layout

    bank = tmp_path / "bank"
    bank.mkdir()
    shutil.copy(sample_path, bank / "sample.json")
    for fw, name in (("aaa", "Aaa first"), ("zzz", "Zzz last")):
        headed = question(f"h-{fw}", "easy", "Which heading?", f"### Heading of {name}\n\nAnd some text.")
        write(bank / f"{fw}.json", page([subtopic("headed", "Headed", [headed])], fw=fw, fw_name=name))
    documents = tmp_path / "documents"  # a line for each document laid out (in whichever child process)
    measure = layout._measure

    def counted(batch, *args):
        with documents.open("a") as log:
            log.write(f"{len(batch.faces)}\n")
        return measure(batch, *args)

    monkeypatch.setattr(layout, "_measure", counted)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(cards, "cores", lambda: 1)
    monkeypatch.setattr(layout, "BATCH", 10**6)
    whole = build(tmp_path, "whole", str(bank))
    alone = documents.read_text().split()
    monkeypatch.setattr(cards, "cores", lambda: 3)  # as if this process could run on three cores
    monkeypatch.setattr(layout, "MIN_BATCH", 5)
    monkeypatch.setattr(layout, "BATCH", 25)
    cut = build(tmp_path, "cut", str(bank), "--no-cache")  # built (unchanged, the build manifest would copy it)
    cut_up = documents.read_text().split()[len(alone):]
    assert max(map(int, cut_up)) <= 25 < max(map(int, alone)) and len(cut_up) > 2 * len(alone)

    def described(path: Path) -> tuple:
        with pikepdf.open(path) as pdf:
            keys = sorted(pdf.Root.keys())  # before opening the outline, which makes one
            index = {p.obj.objgen: i for i, p in enumerate(pdf.pages)}
            with pdf.open_outline() as outline:
                marks = [(item.title, index[item.destination[0].objgen]) for item in outline.root]
            return dict(pdf.docinfo), bytes(pdf.trailer.ID[0]), marks, keys

    assert page_bitmaps(cut, 1.0) == page_bitmaps(whole, 1.0)
    info, ident, marks, keys = described(whole)
    assert marks == [] and "/Outlines" not in keys
    text = " ".join(p.extract_text() for p in PdfReader(whole).pages)
    assert "Heading of Aaa first" in text and "Heading of Zzz last" in text
    assert described(cut) == (info, ident, marks, keys)


#: How the sheets were made before imposition, kept here as the reference: every face in an absolutely placed cell
#: the size of its card, clipped to it, the sheets laid out by WeasyPrint with their cards.
CELL_CSS = (".cell { position: absolute; box-sizing: border-box; overflow: hidden; }\n"
            ".cell > .face { height: 100%; overflow: hidden; }\n")


def reference_sheets(made, css: str, media, files, size: str, paper: str, duplex: str, offset: tuple[float, float],
                     target: Path) -> Path:
    from qaexport.exporters.cards import sheets
    from qaexport.exporters.cards.geometry import choose_grid
    from qaexport.weasy.layout import write_pdf

    grid = choose_grid(paper, size, 0)
    kinds = sheets(grid, duplex, offset)

    def div(kind: str, rect, inner: str = "") -> str:
        return (f'<div class="{kind}" style="left: {rect.x:.3f}mm; top: {rect.y:.3f}mm; width: {rect.w:.3f}mm; '
                f'height: {rect.h:.3f}mm">{inner}</div>')

    body = []
    for start in range(0, len(made), grid.per_page):
        batch = made[start:start + grid.per_page]
        for kind, cells in ((kinds[0], [(grid.front(i), c.front()) for i, c in enumerate(batch)]),
                            (kinds[1], [(grid.back(i, duplex, offset), c.back()) for i, c in enumerate(batch)])):
            marks = [div("mark v" if m.w == 0 else "mark h", m) for m in kind.marks]
            body.append(f'<div class="sheet {kind.side}">' + "".join(div("cell", r, f) for r, f in cells)
                        + "".join(marks) + "</div>")
    page = f"@page {{ size: {grid.paper_w:.3f}mm {grid.paper_h:.3f}mm; margin: 0; }}\n"
    html = '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>' + "".join(body) + "</body></html>"
    write_pdf(html, css + page + CELL_CSS, "reference", target, lambda _pages: None, media, files)
    return target


def _pages(path: Path, dpi: int) -> list:
    doc = pdfium.PdfDocument(path)
    try:
        return [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in doc]
    finally:
        doc.close()


def _differences(a, b) -> tuple[int, int]:
    """(pixels that differ by more than 8 of 255 in a colour channel, the largest difference) between two pictures
    of a page, each pixel compared with the same and the eight next pixels of the other: PDFium puts a line of text
    on whole pixels and draws a glyph a little differently at another fraction of a pixel, and the same position
    reached by another sum of offsets may round either way."""
    import functools

    from PIL import ImageChops

    shifted = [ImageChops.difference(a, ImageChops.offset(b, dx, dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    red, green, blue = functools.reduce(ImageChops.darker, shifted).split()
    most = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return sum(most.histogram()[9:]), most.getextrema()[1]


@pytest.mark.parametrize(("name", "size", "paper", "duplex", "offset"), [
    ("a7", "a7", "a4", "long-edge", (0.0, 0.0)),
    ("offset", "business", "letter", "short-edge", (3.0, -2.0)),  # 10 per sheet, backs turned top to bottom, shifted
    ("none", "a7", "a4", "none", (0.0, 0.0)),
    ("long", "a7", "a4", "long-edge", (0.0, 0.0))])  # parts, continued fronts, long code, a relabelled answer
def test_imposed_sheets_are_the_cards_laid_out_on_the_sheets(pdfs, laid_out, out, name, size, paper, duplex, offset):
    """The faces placed by pikepdf (measured answers kept, the rest laid out alone) are the sheets laid out with
    their cards in clipped cells, as before: the same pages, to rounding (seen at 150 dpi: ~150 pixels of a page
    differ by 1 or 2 of 255, now and then a line of text is a pixel lower, and a few glyphs are drawn at another
    fraction of a pixel: up to 81 pixels of a page differ by up to 64). A card out of place, a face on the wrong
    card or a part missing or wrong changes thousands of pixels, or at least a glyph's worth by 150 or more."""
    made, css, media, files = laid_out[str(pdfs[name])]
    if name != "offset":  # (medium answers do not fit a business card whole: all continue)
        assert any(card.back_kept for card in made)  # answers were kept from measuring, not laid out again
    if name == "long":  # a whole question on the first of its cards is kept too, its "k/n" drawn over it
        assert any(card.front_kept and card.front_label for card in made)
    reference = reference_sheets(made, css, media, files, size, paper, duplex, offset, out / f"reference-{name}.pdf")
    ours, theirs = _pages(pdfs[name], 150), _pages(reference, 150)
    assert len(ours) == len(theirs)
    for number, (a, b) in enumerate(zip(ours, theirs, strict=True), 1):
        pixels, largest = _differences(a, b)
        assert pixels <= 400 and largest <= 100, (name, number, pixels, largest)


def test_a_code_word_longer_than_a_line_may_break_anywhere_and_nothing_else():
    """WeasyPrint does not break a word made of several highlighted tokens (Kozea/WeasyPrint#1614), so the line
    holding one longer than a card's line gets ``brk`` (break-all); lines that fit or wrap at spaces keep theirs."""
    from qaexport.books.html import code_lines

    def classes(line: str, columns: int) -> str:
        out = code_lines(f'<pre class="hl"><code>{line}\n</code></pre>', columns=columns)
        return re.search(r'<span class="ln ([^"]*)">', out).group(1)

    word = ('request<span class="o">.</span>app<span class="o">.</span>enqueue_job('
            '<span class="s">"build_report"</span>,')
    assert len(html.unescape(re.sub("<[^>]+>", "", word))) == 39
    assert classes(f"    await {word} task_id)", 40) == "in4 brk"  # 39 > 40 - 4 - 2
    assert classes(f"{word} task_id)", 41) == "in0"  # 39 <= 41 - 0 - 2: the word fits a line of its own
    assert classes(f"{word} task_id)", 40) == "in0 brk"
    assert classes(f"    await {word} task_id)", 80) == "in4"  # the whole line fits
    assert classes("    short words only, " * 3, 40) == "in4"  # wraps at spaces
    assert classes(f"    await {word} task_id)", 0) == "in4"  # no width given (the EPUB): nothing added


def test_code_columns_follow_the_mono_face_and_the_card():
    from fontTools.ttLib import TTFont

    from qaexport.books.fonts import MONO, MONO_ADVANCE_EM, text_faces
    from qaexport.exporters.cards import code_columns

    for face in (f for f in text_faces() if f.family == MONO):
        font = TTFont(face.path)
        cmap = font.getBestCmap()
        advances = {font["hmtx"][cmap[code]][0] for code in range(0x20, 0x7F)}  # what code is written in
        assert advances == {MONO_ADVANCE_EM * font["head"].unitsPerEm}, face.path
    # business card, 7 pt: (85 - 8 - 2.4 - 0.35) mm / (0.6 × 7 pt) = 50.1 characters, two kept in hand
    assert code_columns(85.0, 7.0) == 48
    assert code_columns(105.0, 9.0) < code_columns(105.0, 7.0) < code_columns(85.0, 7.0) + 14
