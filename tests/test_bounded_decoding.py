"""The shared bounds: images checked by their header before decoding, shrunk or left out by name (formats/images.py);
a note's cloze cards (formats/cloze.py) and decoded expansion (limits.py) counted against limits relative to the
input."""

from __future__ import annotations

import io
import json
import re
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from qaexport import limits, sources
from qaexport.errors import QaexportError
from qaexport.formats import cloze, images
from qaexport.formats.cloze import cloze_cards
from qaexport.formats.images import ImageBudget, Refused, accept
from qaexport.limits import Expansion, ExpansionError
from qaexport.sources.apkg import _type_in_fields
from qaexport.sources.devalue import DevalueError, unflatten
from tests.bounds_corpus import png


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 30, 200)).save(out, "JPEG", quality=50)
    return out.getvalue()


def test_a_small_image_is_kept_byte_for_byte():
    data = png(640, 480)
    media = accept(data)
    assert not isinstance(media, Refused)
    assert (media.data, media.mime, media.pixels) == (data, "image/png", 640 * 480)


def test_an_image_over_the_pixel_limit_is_shrunk_in_its_own_format(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 1_000_000)
    notes: list[str] = []
    media = accept(png(2000, 1500), notes)
    assert not isinstance(media, Refused)
    assert media.mime == "image/png" and media.data.startswith(b"\x89PNG") and media.pixels <= 1_000_000
    assert notes and "2,000×1,500 pixels" in notes[0] and "shrunk" in notes[0]
    with Image.open(io.BytesIO(media.data)) as image:
        assert image.size[0] * image.size[1] == media.pixels
        assert image.size[0] / image.size[1] == pytest.approx(4 / 3, rel=0.01)


def test_a_huge_jpeg_is_shrunk_by_the_decoder_itself(monkeypatch):
    """6000×6000 is over the decode limit as pixels, but a JPEG decodes at 1/8 scale: it is shrunk, not refused."""
    monkeypatch.setattr(images, "MAX_PIXELS", 500_000)
    monkeypatch.setattr(images, "MAX_DECODE_PIXELS", 1_000_000)
    media = accept(jpeg(6000, 6000), [])
    assert not isinstance(media, Refused), media
    assert media.mime == "image/jpeg" and media.pixels <= 500_000


def test_an_image_too_big_to_decode_is_refused_without_decoding(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 1_000_000)
    monkeypatch.setattr(images, "MAX_DECODE_PIXELS", 3_000_000)
    reason = accept(png(2000, 2000), [])
    assert isinstance(reason, Refused) and "2,000×2,000 pixels" in str(reason)


def test_pillows_bomb_warning_never_prints_and_its_error_is_a_reason():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        over_warning = accept(png(10_000, 10_000), [])  # 100 M pixels: Pillow warns on opening it
        over_error = accept(png(30_000, 30_000), [])  # 900 M pixels: Pillow refuses to open it
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]
    assert isinstance(over_warning, Refused) and "10,000×10,000" in str(over_warning)
    assert isinstance(over_error, Refused) and "pixel limit" in str(over_error)


@pytest.mark.parametrize(("data", "says"), [
    (b"MZ\x90\x00", "not a PNG"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "damaged"),
    (b"\x89PNG\r\n\x1a\n" + bytes(images.MAX_IMAGE_BYTES), "limit"),
])
def test_a_bad_image_is_a_reason_not_an_exception(data, says):
    reason = accept(data)
    assert isinstance(reason, Refused) and says in str(reason)


def test_an_svg_of_too_many_elements_is_refused(monkeypatch):
    """A drawing the layout would spend unbounded time on: refused by count, however small its file."""
    svg = b'<svg xmlns="http://www.w3.org/2000/svg">' + b'<rect width="1" height="1"/>' * 10 + b"</svg>"
    assert not isinstance(accept(svg), Refused)
    monkeypatch.setattr(images, "MAX_SVG_ELEMENTS", 10)  # the root and ten rectangles: one too many
    refused = accept(svg)
    assert isinstance(refused, Refused) and "more than 10 SVG elements" in str(refused)


def test_the_build_budget_counts_bytes_and_pixels():
    budget = ImageBudget(total_bytes=100, total_pixels=1000)
    assert budget.admit(60, 600) == ""
    assert "MiB allowed" in budget.admit(60, 10)
    assert "pixels allowed" in budget.admit(10, 500)
    assert budget.admit(40, 400) == ""


def test_cloze_cards_are_bounded_by_count_and_by_expansion():
    assert cloze_cards(3, 100) == 3
    assert cloze_cards(5000, 10) == cloze.MAX_NUMBER
    assert cloze_cards(5000, 1_000_000) == cloze.MAX_EXPANSION // 1_000_000
    assert cloze_cards(50, 10**9) == 1  # the first card is always read


def test_expansion_is_relative_to_the_input_with_a_floor():
    small = Expansion(10, ratio=8, floor=1000)
    small.add(999, "x")
    with pytest.raises(ExpansionError, match="x expands to more than 1,000 characters"):
        small.add(2, "x")
    big = Expansion(10_000, ratio=8, floor=1000)
    big.check(80_000, "y")
    with pytest.raises(ExpansionError):
        big.check(80_001, "y")


def test_a_payload_of_shared_references_is_refused_while_decoding(monkeypatch):
    monkeypatch.setattr(limits, "EXPANSION_FLOOR", 10_000)
    honest = [{"q": 1, "a": 1}, "x" * 5_000]  # one string used twice: 10 KB from 5 KB, within 8x
    assert unflatten(honest, len(json.dumps(honest)))["q"] == "x" * 5_000
    shared = [[1] * 1000, "y" * 100]  # 100 KB from 6 KB
    with pytest.raises(DevalueError, match="entry 0 expands to more than"):
        unflatten(shared, len(json.dumps(shared)))


def test_a_doubling_chain_is_refused_long_before_its_end():
    chain = [[i + 1, i + 1] for i in range(90)] + ["leaf"]  # 2**90 leaves from 90 entries
    with pytest.raises(DevalueError, match="expands to more than"):
        unflatten(chain, len(json.dumps(chain)))


def test_markdown_images_are_shrunk_and_named_in_the_warning(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setattr(images, "MAX_PIXELS", 100_000)
    data = png(1000, 400)
    name = hashlib.sha256(data).hexdigest()[:16] + ".png"
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / name).write_bytes(data)
    bank = tmp_path / "bank.md"
    bank.write_text(f'---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n## Picture? {{#p .easy format=html}}\n\n'
                    f'<img src="{name}">\n')
    warnings_seen: list = []
    library = sources.load([bank], warnings_seen)
    media = library.media[name]
    assert media.pixels <= 100_000 and media.data != data
    assert [str(w) for w in warnings_seen if "shrunk" in str(w) and name in str(w)]


def test_the_builds_images_share_one_budget(tmp_path, monkeypatch):
    """Each file's images fit alone; together they are over the build's budget: the last is skipped by name."""
    import hashlib

    monkeypatch.setattr(images, "MAX_PIXELS_TOTAL", 150_000)
    (tmp_path / "media").mkdir()
    for i, side in enumerate((300, 301)):
        data = png(side, side)
        name = hashlib.sha256(data).hexdigest()[:16] + ".png"
        (tmp_path / "media" / name).write_bytes(data)
        (tmp_path / f"bank{i}.md").write_text(
            f'---\nframework: F\ntopic: T\nsubtopic: S{i}\n---\n\n## Picture {i}? {{#p .easy format=html}}\n\n'
            f'<img src="{name}">\n')
    seen: list = []
    library = sources.load([tmp_path / "bank0.md", tmp_path / "bank1.md"], seen)
    assert len(library.media) == 1
    assert [w for w in seen if "pixels allowed for all images" in str(w)]


_TYPE_IN_SPEC = re.compile(r"\[\[type:(?:(cloze|nc):)?([^\]]*)\]\]")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["[[type:", "]", "]]", "[", "a", "cloze:", "nc:", ":", "type"]), max_size=30))
def test_the_type_in_scanner_finds_what_anki_s_pattern_finds(parts):
    text = "".join(parts)
    expected = [(m.start(), m.end(), m.group(1) or "", m.group(2)) for m in _TYPE_IN_SPEC.finditer(text)]
    assert list(_type_in_fields(text)) == expected


def test_a_type_in_field_of_150_000_openings_reads_in_one_pass():
    text = "[[type:" * 150_000 + "[[type:Back]]"
    assert list(_type_in_fields(text)) == [(0, len(text), "", text[7:-2])]  # as Anki's own pattern reads it


def test_a_refused_expansion_is_one_line(tmp_path):
    path = tmp_path / "shared.json"
    path.write_text(json.dumps([{"data": 1}, [2] * 300_000, "z" * 200]))
    with pytest.raises(QaexportError) as info:
        sources.load([path])
    assert "\n" not in str(info.value) and "expands to more than" in str(info.value)


@pytest.mark.parametrize(("html", "depth"), [
    ("<div><div>x</div></div>", 2), ("<p>a<p>b<p>c", 0), ("<ul><li>a<li>b</ul>", 1), ("<br><br><img src=x>", 0),
    ("<div/><div/>", 2), ("</div></div><b>x</b>", 1), ("a < b > c", 0), ("<ul><li>" * 300, 101),
    ("<!-- <div> -->", 0),
])
def test_html_nesting_counts_elements_that_nest(html, depth):
    assert limits.html_nesting(html) == depth


def test_html_nested_too_deep_is_a_problem_at_its_question(tmp_path):
    bank = tmp_path / "bank.md"
    bank.write_text("---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n## Deep? {#d .easy format=html}\n\n"
                    + "<div>" * 5000 + "x\n")
    with pytest.raises(QaexportError, match=r"bank.md:7: question 'd' .*: answer \(a\) is HTML nested over 100 "
                                            "elements deep"):
        sources.load([bank])


def test_the_sanitiser_never_parses_html_nested_too_deep(monkeypatch):
    from qaexport.formats import html

    seen: list[str] = []
    real = html.nh3.clean
    monkeypatch.setattr(html.nh3, "clean", lambda text, **kw: seen.append(text) or real(text, **kw))
    out = html.sanitize("<blockquote>" * 40_000 + "deep <b>text</b>", set())
    assert "deep" in out and "text" in out and "<blockquote>" not in out
    assert all(limits.html_nesting(text) <= limits.MAX_HTML_NESTING for text in seen)


_SVG_PEAK = """
import resource, sys
from qaexport.formats.images import Refused, accept
svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800">'
       + b'<circle r="5"/>' * 400_000 + b"</svg>")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
refused = accept(svg)
assert isinstance(refused, Refused) and "more than 50,000 SVG elements" in str(refused), refused
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_an_svg_of_too_many_elements_is_refused_before_it_is_built_whole():
    """trial10 #21: 400,000 circles (6 MB of SVG) made a 400 MB tree before the count refused it; counted while
    parsing, the process grows by about the limit's worth of elements (~20 MB), whatever the file holds."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _SVG_PEAK], capture_output=True, text=True, check=True)
    assert int(out.stdout) < 80, f"peak grew by {out.stdout.strip()} MiB while refusing"
