"""How the flashcards' measuring is shared out: documents of about equal text in full waves of the cores, and one
stylesheet and font configuration for all of them (``weasy.layout.share_setup``), with the same bytes."""

from __future__ import annotations

import gc
import itertools

from qaexport.exporters.cards import layout


def _texts(lengths: list[int], ranges: list[tuple[int, int]]) -> list[int]:
    return [sum(lengths[start:end]) + layout.PAGE_CHARS * (end - start) for start, end in ranges]


def test_documents_hold_about_equal_text_in_full_waves(monkeypatch):
    monkeypatch.setattr(layout, "BATCH", 200)  # four documents: room to balance them (the memory bound is apart)
    # Long answers first (as a bank's hardest topic), then many short ones: equal face counts put all the long
    # ones in the first document, which the other core waited for.
    lengths = [9000] * 40 + [300] * 400 + [1500] * 120
    ranges = layout.batch_ranges(lengths, 2)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(lengths)
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(ranges))  # in order, none left out
    assert len(ranges) % 2 == 1 and all(0 < end - start <= layout.BATCH for start, end in ranges)  # 4 + the halves
    texts = _texts(lengths, ranges)
    whole, item = texts[1:-1], 9000 + layout.PAGE_CHARS  # cut between faces: equal within a long face or two
    assert max(whole) - min(whole) <= 2 * item, texts
    assert all(abs(half - sum(whole) / len(whole) / 2) <= item for half in (texts[0], texts[-1])), texts


def test_three_documents_on_two_cores_become_four(monkeypatch):
    monkeypatch.setattr(layout, "BATCH", 200)
    ranges = layout.batch_ranges([1000] * 560, 2)  # 560 faces at most 200 a document: 3 -> a full wave of 4
    assert [end - start for start, end in ranges] == [70] + [140] * 3 + [70]  # (staggered: the halves)


def _schedule(texts: list[int], cores: int = 2) -> list[tuple[float, float]]:
    """(start, end) of each document when ``cores`` lay them out in order, each core taking the next as it ends, a
    document's time its text (``forked.run_forked_all``)."""
    free = [0.0] * cores
    spans = []
    for text in texts:
        core = free.index(min(free))
        spans.append((free[core], free[core] + text))
        free[core] += text
    return spans


def test_the_documents_two_cores_lay_out_at_once_never_end_together():
    """A measuring child's memory grows with the faces it has laid out, then by the drawing: two documents of equal
    text started together reached their largest memory together (the cards' peak). Staggered, every document but
    the last ends while the other core's is half done (about), and the round still ends on both cores at once."""
    lengths = [300, 1500, 800, 2400, 600] * 224  # a round of 1,120 faces, as the 560 bank's first
    texts = _texts(lengths, layout.batch_ranges(lengths, 2))
    whole = max(texts[1:-1])
    ends = sorted(end for _, end in _schedule(texts))
    assert ends[-1] - ends[-2] <= 0.1 * whole  # the round ends on both cores together: no core idles
    for end, other in itertools.pairwise(ends[:-1]):
        assert other - end >= 0.4 * whole, (end, other, texts)  # one is half grown when the other peaks


def test_small_rounds_stay_one_document_and_one_core_cuts_only_for_memory():
    assert layout.batch_ranges([1000] * 15, 2) == [(0, 15)]  # fewer than MIN_BATCH faces for a second one
    assert layout.batch_ranges([1000] * 32, 2) == [(0, 8), (8, 24), (24, 32)]  # two, staggered
    assert layout.batch_ranges([], 2) == []
    assert len(layout.batch_ranges([10] * 450, 1)) == 6  # one core: documents only as BATCH (80) bounds them


def test_documents_laid_out_after_share_setup_parse_nothing_again_and_are_the_same(monkeypatch, tmp_path):
    from qaexport.books.fonts import font_face_css, font_faces
    from qaexport.templates import asset
    from qaexport.weasy import layout as weasy

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(weasy, "_shared", None)
    files = {face.uri: face.path for face in font_faces()}
    css = font_face_css() + asset("cards", "cards.css")
    html = '<p>Shared <b>setup</b> <code>x = 1</code> <i>once</i></p>'

    def pdf(name: str, style: str = css) -> bytes:
        weasy.render(html, style, None, files).write_pdf(tmp_path / name, pdf_identifier=b"same")
        return (tmp_path / name).read_bytes()

    fresh = pdf("fresh.pdf")
    made = []
    real = weasy.FontConfiguration
    monkeypatch.setattr(weasy, "FontConfiguration", lambda: made.append(1) or real())
    weasy.share_setup(css, files)
    assert len(made) == 1
    assert pdf("shared.pdf") == pdf("again.pdf") == fresh
    assert len(made) == 1  # nothing set up again for the shared CSS
    pdf("other.pdf", css + "p { color: red; }")
    assert len(made) == 2  # another stylesheet gets its own setup


def test_the_backs_head_is_measured_once_not_on_every_answer(monkeypatch, tmp_path, sample_path):
    """Every back's head is one line: one measure of it, taken before the first round, tells where each answer's
    body starts (560 heads measured alone were a round of their own)."""
    from typer.testing import CliRunner

    from qaexport.cli import app
    from qaexport.exporters import cards

    bodies: list[str] = []
    measure = layout._measure

    def spy(batch, *args):
        bodies.extend(face.split('class="body"', 1)[1].split(">", 1)[1][:6] for face in batch.faces)
        return measure(batch, *args)

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(layout, "can_fork", lambda: False)  # every document in this process, seen by the spy
    monkeypatch.setattr(cards, "cores", lambda: 1)
    monkeypatch.setattr(layout, "_measure", spy)
    result = CliRunner().invoke(app, ["cards", str(sample_path), "-o", str(tmp_path / "s.cards.pdf"), "--no-cache"])
    assert result.exit_code == 0, result.output
    empty = [body for body in bodies if body.startswith("</div>")]
    assert len(empty) == 1 and len(bodies) > 20, (len(empty), len(bodies))


def test_a_measuring_document_pauses_the_cyclic_collector_and_restores_it(monkeypatch, tmp_path):
    """A measuring document is laid out and drawn with the collector paused (the booklet's ``write_pdf`` does the
    same: a layout's objects all live until drawn), and the collector is as it was after, also when it fails."""

    import pytest

    from qaexport.books.fonts import font_face_css, font_faces
    from qaexport.templates import asset

    files = {face.uri: face.path for face in font_faces()}
    css = font_face_css() + asset("cards", "cards.css")
    seen: list[str] = []
    render = layout.render

    def spied_render(*args, **kwargs):
        seen.append(f"render {gc.isenabled()}")
        document = render(*args, **kwargs)
        real_copy = document.copy

        def copy(pages):
            drawn = real_copy(pages)
            real_write = drawn.write_pdf
            drawn.write_pdf = lambda *a, **k: seen.append(f"draw {gc.isenabled()}") or real_write(*a, **k)
            return drawn

        document.copy = copy
        return document

    monkeypatch.setattr(layout, "render", spied_render)
    face = '<section class="face"><div class="mk" id="m-0-s"></div><p>x</p><div class="mk" id="m-0-e"></div></section>'
    assert gc.isenabled()
    measured = layout._measure(layout.Batch([face], [True], tmp_path / "kept.pdf"), css, 1000.0, None, files)
    assert measured.pages == [0] and seen == ["render False", "draw False"] and gc.isenabled()
    monkeypatch.setattr(layout, "render", lambda *_a, **_k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        layout._measure(layout.Batch([face], [True], tmp_path / "failed.pdf"), css, 1000.0, None, files)
    assert gc.isenabled()


def test_a_measuring_child_ends_without_collecting_its_document(tmp_path):
    """A round's document and the sheets' faces are measured in children that end once they have sent their measures:
    the collector stays off after the layout, so the child's end, not a collection, returns the document's garbage."""
    from qaexport.books.fonts import font_face_css, font_faces
    from qaexport.exporters.cards import _lay_out_batch
    from qaexport.forked import run_forked
    from qaexport.templates import asset

    files = {face.uri: face.path for face in font_faces()}
    css = font_face_css() + asset("cards", "cards.css")
    face = '<section class="face"><div class="mk" id="m-0-s"></div><p>x</p><div class="mk" id="m-0-e"></div></section>'

    def child(entry: str) -> tuple[list, int, bool]:
        def work(report):
            started: list[int] = []
            gc.callbacks.append(lambda phase, info: phase == "start" and started.append(info["generation"]))
            batch = layout.Batch([face], [True], tmp_path / f"{entry}.pdf")
            if entry == "round":
                measured = layout._measure_in_child(batch, css, 1000.0, None, files, report)
            else:
                measured = _lay_out_batch(batch, css, {}, files, report)
            _more = [[] for _ in range(10_000)]  # allocations that start a collection when the collector is on
            return measured.pages, len(started), gc.isenabled()

        return run_forked(work, lambda _value: None, lambda cause: cause)

    assert gc.isenabled()
    for entry in ("round", "sheet faces"):
        pages, collections, enabled = child(entry)
        assert pages == [0] and collections == 0 and not enabled, (entry, collections, enabled)
    assert gc.isenabled()  # this process's collector is untouched
