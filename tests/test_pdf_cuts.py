"""A big book cut into parts between questions (``weasy.parts.MAX_PART``, ``exporters.pdf._cuts``): every cut
between two questions and starting a page, no heading left at the end of a part, and a book that navigates as the
one laid out whole (outline, named destinations, contents links and numbers, footers, page labels)."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from qaexport.exporters.pdf import _cuts
from qaexport.weasy import parts as pdf_parts
from tests.bounds_corpus import md_bank
from tests.cli_run import qaexport
from tests.test_pdf_parts import _structure

pytestmark = pytest.mark.slow  # lays out books: `-m 'not slow'` skips it

#: (framework, topic, subtopic, tag, questions): the tag names the subtopic's questions in their text.
SUBTOPICS = [("One", "Alpha", "Alpha one", "A1", 9), ("One", "Alpha", "Alpha two", "A2", 9),
             ("One", "Beta", "Beta one", "B1", 9), ("One", "Beta", "Beta two", "B2", 9),
             ("Two", "Gamma", "Gamma one", "G1", 8)]
#: Parts of about four questions: the framework One (36 questions) is cut several times, Two (8) once.
SMALL_PART = 8_000


def _text(page) -> str:
    return " ".join((page.extract_text() or "").replace("\x00", "").split())


def _parts(path: Path) -> list[list[int]]:
    """The merged book's pages grouped by the file they were laid out in (each part embeds its own fonts): the
    front document's cover and contents first, then each body part."""
    groups: list[list[int]] = []
    last = None
    with pikepdf.open(path) as pdf:
        for number, page in enumerate(pdf.pages):
            fonts = page.obj.Resources.get("/Font", {})
            key = frozenset(font.objgen for font in fonts.values())
            if key != last:
                groups.append([])
                last = key
            groups[-1].append(number)
    return groups


def cut_bank(folder: Path) -> Path:
    """A Markdown bank of :data:`SUBTOPICS`, one file each; each answer ends with ``Done TAG.N.``."""
    folder.mkdir()
    for n, (fw, topic, sub, tag, count) in enumerate(SUBTOPICS):
        items = [(f"Question {tag}.{i} about lists?", f"Answer {tag}.{i}: " + "words and more " * (25 + 9 * (i % 4))
                  + f"\n\n- one\n- two\n\n```python\nprint({i})\n```\n\nDone {tag}.{i}.") for i in range(count)]
        (folder / f"{n}.md").write_text(md_bank(items, front=f"framework: {fw}\ntopic: {topic}\nsubtopic: {sub}"))
    return folder


@pytest.fixture(scope="module")
def cut(tmp_path_factory) -> dict[str, Path]:
    """One bank laid out whole (``--parts 1``: it is small) and in parts of at most ``SMALL_PART`` characters."""
    tmp = tmp_path_factory.mktemp("cuts")
    bank = cut_bank(tmp / "bank")
    out = {"whole": tmp / "whole.pdf", "cut": tmp / "cut.pdf"}
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    qaexport("pdf", str(bank), "--parts", "1", "--no-cache", "-o", str(out["whole"]), env=env)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf_parts, "MAX_PART", SMALL_PART)
        qaexport("pdf", str(bank), "--parts", "2", "--no-cache", "-o", str(out["cut"]), env=env)
    return out


def test_a_big_book_is_cut_between_questions_and_every_cut_starts_a_page(cut):
    texts = [_text(page) for page in PdfReader(cut["cut"]).pages]
    _front, *body = _parts(cut["cut"])
    assert len(_parts(cut["whole"])) == 1  # laid out whole
    assert len(body) >= 7, body  # the frameworks (2) cut further: One into five parts or more, Two into two
    part_of = {page: k for k, pages in enumerate(body) for page in pages}
    questions = [(tag, i) for *_names, tag, count in SUBTOPICS for i in range(count)]

    def page_of(needle: str) -> int:
        pages = [n for n in part_of if needle in texts[n]]
        assert len(pages) == 1, (needle, pages)
        return pages[0]

    heads = [page_of(f"Question {tag}.{i} about") for tag, i in questions]
    ends = [page_of(f"Done {tag}.{i}.") for tag, i in questions]
    assert heads == sorted(heads) and ends == sorted(ends)  # every question once, in order
    split = [q for q, head, end in zip(questions, heads, ends, strict=True) if part_of[head] != part_of[end]]
    assert split == [], "a question's head and its end were laid out in different parts"
    for k, pages in enumerate(body):  # each part's first question begins on its first page (a part is a document)
        held = [n for n, head in enumerate(heads) if part_of[head] == k]
        assert held and heads[held[0]] == pages[0], (k, texts[pages[0]][:80])
    for number, text in enumerate(texts):  # no blank page: each has more than its footer
        assert len(re.sub(r"\b\d+ / \d+\b", "", text).strip()) > 40, (number, text)
    starts_at_heading = 0
    for _fw, _topic, sub, tag, _count in SUBTOPICS:  # no heading ends a part: it is on its first question's page
        where = [n for n in part_of if re.search(rf"(^|\s){sub}(\s|$)", texts[n])]
        assert where and where[0] == page_of(f"Question {tag}.0 about"), (sub, where)
        starts_at_heading += where[0] in {pages[0] for pages in body[1:]}
    assert starts_at_heading >= 1  # some cut moved to a subtopic's first question...
    assert len(body) - 1 - starts_at_heading >= 1  # ...and some fell inside a subtopic (its heads carried on)
    heads_of = [re.search(r"\b(One|Two)( / (Alpha|Beta|Gamma))? \d+ / \d+$", texts[n]) for n in part_of]
    assert all(heads_of), "a body page lost its running head"  # (a part begun inside a framework carries it on)
    assert sum(1 for found in heads_of if found and found.group(2)) >= len(part_of) - 3  # with its topic


def test_a_book_cut_between_questions_navigates_as_the_book_laid_out_whole(cut):
    whole, got = _structure(cut["whole"]), _structure(cut["cut"])
    texts = [_text(page) for page in PdfReader(cut["cut"]).pages]
    assert [(depth, title) for depth, title, *_ in got["outline"]] == \
        [(depth, title) for depth, title, *_ in whole["outline"]]  # nested as laid out whole
    for _depth, title, (page, *_place), _closed in got["outline"]:
        assert title in texts[page], (title, page)  # each bookmark opens the page its heading is on
    assert set(got["dests"]) == set(whole["dests"])
    marks = {f"q-{n}": f"Question {tag}.{i} about"  # each named destination opens the page of its question...
             for n, (tag, i) in enumerate(((tag, i) for *_names, tag, count in SUBTOPICS for i in range(count)), 1)}
    for fw, topic, sub, _tag, _count in SUBTOPICS:  # ...or of its heading
        marks |= {f"f-{fw.lower()}": fw, f"t-{fw.lower()}-{topic.lower()}": topic,
                  f"s-{fw.lower()}-{topic.lower()}-{sub.lower().replace(' ', '-')}": sub}
    assert set(marks) <= set(got["dests"])
    for name, mark in marks.items():
        assert mark in texts[got["dests"][name][0]], (name, mark)
    contents = [(page, dest) for page, _rect, dest, uri in got["links"] if dest]
    assert len(contents) == len(whole["links"]) and all(dest in got["dests"] for _page, dest in contents)
    assert all(not uri for *_rest, uri in got["links"])  # no link left to the merge's placeholder address
    toc = " ".join(texts[:3])
    for _fw, _topic, sub, _tag, count in SUBTOPICS:  # the contents' numbers: the pages the headings are on
        number = re.search(re.escape(f"{sub} ({count})") + r"\s*(?:\.\s*){3,}(\d+)", toc)
        slug = sub.lower().replace(" ", "-")
        anchor = [name for name in got["dests"] if name.startswith("s-") and name.endswith(slug)]
        assert number and len(anchor) == 1 and int(number.group(1)) == got["dests"][anchor[0]][0] + 1, (sub, toc)
    reader = PdfReader(cut["cut"])
    assert "/PageLabels" not in reader.trailer["/Root"]  # as laid out whole: pages labelled by their numbers
    total = len(texts)
    assert reader.page_labels == [str(n) for n in range(1, total + 1)]
    assert all(f"{n} / {total}" in text for n, text in enumerate(texts, 1) if n > 1), "a footer is missing"


def test_cuts_fall_between_questions_within_the_part_size_and_move_to_headings():
    """``_cuts`` alone: parts never above ``MAX_PART`` unless one question is, from the start of the framework, moved
    back to a topic's (2) or else a subtopic's (1) first question in a part's last ``CUT_SLACK``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf_parts, "MAX_PART", 100)
        assert _cuts([10] * 30, [0] * 30, 0, 30) == [range(0, 10), range(10, 20), range(20, 30)]
        heads = [0] * 30
        heads[8], heads[17], heads[18] = 1, 2, 1
        assert _cuts([10] * 30, heads, 0, 30) == [range(0, 8), range(8, 17), range(17, 27), range(27, 30)]
        assert _cuts([10] * 5 + [500] + [10] * 5, [0] * 11, 0, 11) == [range(0, 5), range(5, 6), range(6, 11)]
        assert _cuts([10] * 30, [0] * 30, 5, 30) == [range(5, 13), range(13, 21), range(21, 30)]  # balanced
        assert _cuts([60, 60, 60], [0, 2, 0], 0, 3) == [range(0, 1), range(1, 2), range(2, 3)]
        assert _cuts([1000], [0], 0, 1) == [range(0, 1)]
        assert _cuts([10] * 8, [0] * 8, 2, 8) == [range(2, 8)]  # fits: not cut
        # an edit inside the second part moves no cut before it, and none after it while its end stays
        before = _cuts([10] * 40, [0] * 40, 0, 40)
        assert _cuts([10] * 12 + [9] + [10] * 27, [0] * 40, 0, 40) == before
