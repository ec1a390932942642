"""A booklet laid out in parts is the booklet laid out whole: same pages to the pixel, numbers, outline, links."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import threading
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.exporters import pdf as pdf_exporter
from qaexport.weasy import parts as pdf_parts
from qaexport.weasy.parts import LINK_BASE, plan
from tests import cli_run
from tests.cli_run import qaexport
from tests.tools import page_bitmaps

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

ROOT = Path(__file__).resolve().parent.parent


def _synthesise(n: int, folder: Path, per_framework: int = 1) -> Path:
    """``n`` questions from the sample, ``per_framework`` copies of it (34 questions each, one topic per copy) to a
    framework: chapters to cut at."""
    spec = importlib.util.spec_from_file_location("synth", ROOT / "benchmarks" / "synth.py")
    assert spec and spec.loader
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    synth.synthesise(n, folder, per_framework=per_framework)
    return folder


def _with_a_script(bank: Path) -> None:
    """One question of ``bank`` given a Hebrew word: a script face, which the print layouts name as the variable file
    that WeasyPrint instances at the end of each document's drawing (books.fonts.STATIC_FALLBACKS are static)."""
    path = sorted(bank.glob("*.json"))[0]
    payload = json.loads(path.read_text())

    # a Nuxt payload: every value an index into the list
    question = next(node for node in payload if isinstance(node, dict) and isinstance(node.get("q"), int))
    payload[question["q"]] += " (שלום)"
    path.write_text(json.dumps(payload))


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("parts")
    bank = _synthesise(80, tmp / "bank")  # three frameworks: 34, 34 and 12 questions
    _with_a_script(bank)  # drawn with a variable fallback face (the symbols' and emoji's are static files)
    out = {name: tmp / f"{name}.pdf" for name in ("whole", "parts", "again", "two", "queued", "renumbered")}
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    # Every build here is built (--no-cache): with nothing changed the build manifest would copy an earlier book,
    # and several run with code patched in this process, which no manifest can see.
    def qaexport(*args: str, env: dict[str, str]) -> None:
        cli_run.qaexport(*args, "--no-cache", env=env)

    qaexport("pdf", str(bank), "--parts", "1", "-o", str(out["whole"]), env=env)
    qaexport("pdf", str(bank), "--parts", "3", "-o", str(out["parts"]), env=env)
    qaexport("pdf", str(bank), "--parts", "3", "-o", str(out["again"]), env=env)
    qaexport("pdf", str(bank), "--parts", "2", "-o", str(out["two"]), env=env)  # two parts: 34 and 46 questions
    started: list[str] = []  # the parts' files, in the order their children were started (and "shared": below)
    lingering: list[int] = []  # children that had sent their result and not exited, each time a part was started
    with pytest.MonkeyPatch.context() as patch:  # a big book in miniature: more parts than processes at once
        # (every framework its own part, as when parts are capped; each framework fits one, so none is cut inside)
        patch.setattr(pdf_exporter, "plan", functools.partial(plan, max_part=1))
        from qaexport import forked
        from qaexport.weasy import compat_fonttools

        start, lay_part, load = forked.Children.start, pdf_parts._lay_part, compat_fonttools.load_for_instancing

        def stuck_at_exit(*args: object) -> list[str]:  # a part that never exits once it has sent its result
            from multiprocessing.util import Finalize

            Finalize(None, threading.Event().wait, exitpriority=0)  # run as the child exits: waits forever
            return lay_part(*args)  # type: ignore[arg-type]

        def recorded(self: forked.Children, work: functools.partial) -> int:
            if work.func is stuck_at_exit:
                started.append(work.args[3].name)
                lingering.extend(proc.pid for i, proc in enumerate(self._procs)
                                 if i in self._outcomes and Path(f"/proc/{proc.pid}").exists())
            return start(self, work)

        patch.setattr(forked.Children, "start", recorded)
        patch.setattr(pdf_parts, "_lay_part", stuck_at_exit)
        patch.setattr(pdf_parts, "EXIT_BOUND", 0.2)
        patch.setattr(compat_fonttools, "load_for_instancing", lambda: (started.append("shared"), load()))
        qaexport("pdf", str(bank), "--parts", "2", "-o", str(out["queued"]), env=env)
    out["started"] = started  # type: ignore[assignment]
    out["lingering"] = lingering  # type: ignore[assignment]
    with pytest.MonkeyPatch.context() as patch:  # a probe whose contents run longer than the real ones
        fronts: list[int] = []

        def front_css(total: int, css=pdf_parts.front_css) -> str:  # the probe's total is 999
            fronts.append(total)
            return css(total) + (".toc li { padding-bottom: 8cm; }" if total == 999 else "")

        patch.setattr(pdf_parts, "front_css", front_css)
        qaexport("pdf", str(bank), "--parts", "3", "-o", str(out["renumbered"]), env=env)
    out["fronts"] = fronts  # type: ignore[assignment]
    return out


def _footer_forms(path: Path) -> int:
    """Footer pages stamped by the merge (a whole layout has none)."""
    with pikepdf.open(path) as pdf:
        names = {str(k) for page in pdf.pages for k in page.obj.Resources.get("/XObject", {})}
    return sum(1 for name in names if name.startswith("/Footer"))


_bitmaps = page_bitmaps


def _structure(path: Path) -> dict[str, object]:
    """Outline, named destinations and links, with pages as indices: what a reader navigates by."""
    with pikepdf.open(path) as pdf:
        index = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}

        def dest(array) -> tuple:
            return (index[array[0].objgen], *[round(float(v), 2) for v in list(array)[2:4]])

        outline: list[tuple] = []

        def walk(items, depth: int) -> None:
            for item in items:
                outline.append((depth, item.title, dest(item.destination), item.is_closed))
                walk(item.children, depth + 1)

        with pdf.open_outline() as tree:
            walk(tree.root, 0)
        names = {name: dest(array) for name, array in pikepdf.NameTree(pdf.Root.Names.Dests).items()}
        links = [(i, [round(float(v), 2) for v in annot.Rect], str(annot.get("/Dest", "")),
                  str(annot.A.URI) if "/A" in annot else "")
                 for i, page in enumerate(pdf.pages) for annot in page.obj.get("/Annots", [])]
        return {"outline": outline, "dests": names, "links": links, "lang": str(pdf.Root.Lang),
                "info": {str(k): str(v) for k, v in pdf.docinfo.items()}, "id": bytes(pdf.trailer.ID[0])}


def test_plan_cuts_contiguous_balanced_groups():
    assert plan([5, 5, 5, 5], workers=2, min_part=1) == [range(0, 2), range(2, 4)]
    assert plan([9, 1, 1, 1, 1, 1, 1, 1, 1, 1], workers=2, min_part=1) == [range(0, 1), range(1, 10)]
    assert plan([1, 1, 8], workers=3, min_part=1) == [range(0, 1), range(1, 2), range(2, 3)]
    assert plan([3, 3, 3], workers=8, min_part=1) == [range(0, 1), range(1, 2), range(2, 3)]


def test_plan_cuts_a_big_book_into_more_parts_than_processes():
    assert plan([4, 4, 4, 4], workers=2, min_part=1, max_part=4) == [range(i, i + 1) for i in range(4)]
    assert plan([4, 4, 4, 4], workers=2, min_part=1, max_part=8) == [range(0, 2), range(2, 4)]
    assert plan([30, 1, 1], workers=2, min_part=1, max_part=5) == [range(0, 1), range(1, 2), range(2, 3)]


def test_the_smallest_part_starts_beside_the_biggest():
    """``weasy.parts.start_order``: biggest first, but with more parts than are laid out at once, the smallest
    second, so that the parts laid out side by side are out of step and do not reach their largest memory (the end of
    each) together; with no more parts than slots, or one slot, biggest first."""
    assert pdf_parts.start_order([5, 9, 9, 2, 7], 2) == [1, 3, 2, 4, 0]
    assert pdf_parts.start_order([9, 9, 9, 9], 2) == [0, 3, 1, 2]  # equal sizes: the last of them second
    assert pdf_parts.start_order([5, 9, 2], 3) == [1, 0, 2]
    assert pdf_parts.start_order([5, 9, 2], 1) == [1, 0, 2]


def test_a_book_of_more_parts_than_slots_starts_its_smallest_part_second(books):
    """The 80-question book with every framework its own part (34, 34 and 12 questions), two at a time: the third
    part (12 questions) is started second, beside the first of the biggest; its pages are those of the book laid
    out whole all the same, and its bytes those of the three parts laid out at once
    (``test_a_rebuild_in_parts_is_byte_identical``)."""
    started = [name for name in books["started"] if name != "shared"]
    assert sorted(started) == ["part-0.pdf", "part-1.pdf", "part-2.pdf"]
    assert started[1] == "part-2.pdf", started


def test_each_part_is_forked_once_the_one_before_has_exited_and_one_stuck_at_its_exit_is_ended(books):
    """The same build, every part's child stuck at its exit after sending its result (a finalizer that waits
    forever): the next part was forked only once each finished child had exited (a part at the end of its drawing
    is at its largest: it and a new child together were the tree's peak in some samples); the stuck ones were ended
    after ``EXIT_BOUND`` and the book is whole, the same bytes as the three parts laid out at once
    (``test_a_rebuild_in_parts_is_byte_identical``). Without the wait the run forked beside each stuck child."""
    assert books["lingering"] == []


def test_what_every_part_would_load_at_its_end_is_loaded_before_the_forks(books):
    """The book draws with a variable fallback face, which WeasyPrint instances at the end of each part's drawing:
    the modules that takes are loaded once, before the first part is forked (weasy.parts._share_with_children)."""
    assert books["started"][0] == "shared", books["started"]


def test_parts_at_once_are_bounded_by_memory_not_only_by_cores():
    """``weasy.parts.parts_at_once``: a machine of 8 cores lays out 8 parts of a big book at once while they fit the
    tree's budget with the forking process, fewer of a 50,000-question one (its content model is big), and one of a
    bank so big that the forking process fills the budget; a part of one question bigger than ``MAX_PART`` counts as
    ``MAX_PART``."""
    from qaexport.weasy.parts import MAX_PART, parts_at_once

    assert parts_at_once(400_000, 50_000, 8) == 8
    assert parts_at_once(7_800_000, MAX_PART, 8) == 8
    assert 2 <= parts_at_once(78_000_000, MAX_PART, 8) < 8
    assert parts_at_once(78_000_000, MAX_PART + 500_000, 8) == parts_at_once(78_000_000, MAX_PART, 8)
    assert parts_at_once(300_000_000, MAX_PART, 8) == 1
    assert parts_at_once(1_600_000, MAX_PART, 1) == 1


def test_plan_splits_only_where_it_pays():
    assert plan([10], workers=4, min_part=1) == [range(0, 1)]  # one chapter: nothing to cut
    assert plan([5, 5], workers=1, min_part=1) == [range(0, 2)]  # one core
    assert plan([5, 5], workers=2, min_part=6) == [range(0, 2)]  # parts too small to pay for the merge
    assert plan([50, 2, 50], workers=3, min_part=40) == [range(0, 1), range(1, 3)]  # no part below the floor


def test_parts_give_the_same_pages_to_the_pixel(books):
    whole, parts = _bitmaps(books["whole"]), _bitmaps(books["parts"])
    assert len(whole) == len(parts) > 20
    assert [i for i, (a, b) in enumerate(zip(whole, parts, strict=True)) if a != b] == []
    assert _bitmaps(books["two"]) == whole
    assert _bitmaps(books["queued"]) == whole


def test_parts_keep_outline_destinations_links_and_metadata(books):
    whole, parts = _structure(books["whole"]), _structure(books["parts"])
    assert _footer_forms(books["whole"]) == 0 and _footer_forms(books["parts"]) > 0  # really laid out in parts
    assert [t for d, t, *_ in parts["outline"] if d == 0] == ["Framework 0", "Framework 1", "Framework 2"]
    for key in ("outline", "dests", "links", "lang", "info", "id"):
        assert parts[key] == whole[key], key
        assert _structure(books["two"])[key] == whole[key], key
    assert all(uri == "" or not uri.startswith(LINK_BASE) for *_, uri in parts["links"])
    contents = [link for link in parts["links"] if link[0] == 1]
    assert contents and all(dest in parts["dests"] for _, _, dest, _ in contents)  # every contents line jumps


def test_parts_number_every_page_and_the_contents(books):
    pages = [" ".join((p.extract_text() or "").replace("\x00", "").split()) for p in PdfReader(books["parts"]).pages]
    total = len(pages)
    assert all(f"{n} / {total}" in text for n, text in enumerate(pages, 1) if n > 1), "a footer is missing"
    outline = {t: p + 1 for _, t, (p, *_), _ in _structure(books["parts"])["outline"]}
    toc = " ".join(pages[1:3])
    for title in ("Framework 1", "Framework 2"):
        number = re.search(re.escape(title) + r"\s*(?:\.\s*){3,}(\d+)", toc)
        assert number and int(number.group(1)) == outline[title], (title, toc)


def test_a_rebuild_in_parts_is_byte_identical(books):
    assert books["parts"].read_bytes() == books["again"].read_bytes()
    # three parts, two processes at a time, the smallest second: the same book as three at once
    assert books["queued"].read_bytes() == books["parts"].read_bytes()


def test_contents_laid_out_again_when_the_numbers_change_its_length(books):
    """The probe guessed the contents' length wrong: the front is laid out again with the right page count, and
    the book is the one a right guess makes."""
    probe, *fronts = books["fronts"]
    assert probe == 999 and len(fronts) == 2 and fronts[0] > fronts[1], books["fronts"]
    assert books["renumbered"].read_bytes() == books["parts"].read_bytes()


def test_quiz_edition_and_tagged_pdf_are_laid_out_whole(tmp_path, books):
    bank = _synthesise(40, tmp_path / "bank")  # two frameworks
    for extra in (["--answers", "end"], ["--tagged"]):
        out = tmp_path / "book.pdf"
        qaexport("pdf", str(bank), "--parts", "3", *extra, "-o", str(out))
        assert _footer_forms(out) == 0, extra


def test_parts_option_is_checked(tmp_path, sample_path):
    result = CliRunner().invoke(app, ["pdf", str(sample_path), "--parts", "-1", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "--parts -1" in result.output
    assert not (tmp_path / "x.pdf").exists()


@pytest.fixture(scope="module")
def one_framework(tmp_path_factory) -> dict[str, Path]:
    """A book of one framework (two subtopics of 30 questions) laid out whole, and in parts cut between questions
    (a big book in miniature: parts of at most ~25,000 characters of HTML, footers in documents of 4 pages)."""
    from tests.bounds_corpus import md_bank

    tmp = tmp_path_factory.mktemp("one-framework")
    for sub in (1, 2):
        items = [(f"Question {sub}.{i} about `code` and lists?", f"Answer {sub}.{i}: " + "words and more " * 30 +
                  f"\n\n- one\n- two\n\n```python\nprint({i})\n```") for i in range(30)]
        (tmp / f"sub{sub}.md").write_text(md_bank(items, front=f"framework: One\ntopic: Only\nsubtopic: Part {sub}"))
    out = {"whole": tmp / "whole.pdf", "cut": tmp / "cut.pdf"}
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    qaexport("pdf", str(tmp), "--parts", "1", "-o", str(out["whole"]), env=env)
    from qaexport import forked

    running: list[int] = []  # children not finished, each time one is started
    start = forked.Children.start

    def counted(self: forked.Children, work: object) -> int:
        index = start(self, work)
        running.append(len(self._waiting))
        return index

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf_parts, "MAX_PART", 25_000)
        patch.setattr(pdf_parts, "STAMP_CHUNK", 4)
        patch.setattr(pdf_parts, "parts_at_once", lambda *_args: 1)  # memory for one part at a time only
        patch.setattr(forked.Children, "start", counted)
        qaexport("pdf", str(tmp), "--parts", "2", "-o", str(out["cut"]), env=env)
    out["running"] = running  # type: ignore[assignment]
    return out


def test_parts_and_footer_documents_are_laid_out_no_more_at_once_than_memory_allows(one_framework):
    """Parts, the probe, the front and the footer documents (several here: 4 pages each) wait for a free slot:
    all footer documents used to start at once, a dozen for a 50,000-question book."""
    assert len(one_framework["running"]) > 6  # parts, probe, front and footer documents were started
    assert max(one_framework["running"]) == 1


def _outline(path: Path) -> list:
    def walk(items) -> list:
        return [walk(item) if isinstance(item, list) else item.title for item in items]
    return walk(PdfReader(path).outline)


def test_a_book_of_one_framework_is_cut_between_questions_and_reads_the_same(one_framework):
    whole, cut = PdfReader(one_framework["whole"]), PdfReader(one_framework["cut"])
    assert _footer_forms(one_framework["cut"]) > 0  # it was laid out in parts
    texts = [" ".join((page.extract_text() or "").split()) for page in cut.pages]
    body = " ".join(texts)
    places = [body.find(f"Question {sub}.{i} about") for sub in (1, 2) for i in range(30)]
    assert -1 not in places and places == sorted(places)  # every question, in order
    assert _outline(one_framework["cut"]) == _outline(one_framework["whole"])  # nested as laid out whole
    total = len(cut.pages)
    assert total >= len(whole.pages)  # each cut inside the framework starts a page
    for number, text in enumerate(texts[1:], 2):  # the cover has no footer
        assert re.search(rf"\b{number} / {total}\b", text), (number, text[-60:])  # footers across stamp documents
    heads = [text for text in texts if "One / Only" in text]
    assert len(heads) >= total - 3, texts  # every body page has the running head, parts begun inside too


def test_contents_numbers_count_the_front_and_every_part_before():
    parts = [pdf_parts._Part(3, {"a": 0, "b": 2}, []), pdf_parts._Part(2, {"c": 1}, [])]
    assert pdf_parts.contents_numbers(parts, ["c", "a", "b"], 2) == ({"c": "7", "a": "3", "b": "5"}, 7)
    assert pdf_parts.contents_numbers(parts, ["a"], 0) == ({"a": "1"}, 5)
