"""Printable study booklet: cover, TOC with page numbers, outline, quiz mode.

This module builds the HTML from templates; ``weasy.layout`` lays it out with WeasyPrint in
a child process, so the layout's memory is returned when it ends (and WeasyPrint is only
imported when a PDF is asked for).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ...books.fonts import (
    MONO_ADVANCE_EM,
    FontFace,
    faces_for,
    fallback_faces,
    font_face_css,
    font_faces,
    font_files_state,
    missing_glyphs_warning,
)
from ...books.html import (
    MAY_WRAP,
    code_line_css,
    code_lines,
    cover_image,
    cover_subtitle,
    description_html,
    description_text,
    printed,
    wrap_mark,
)
from ...books.tables import fit_tables
from ...characters import clean_name
from ...directions import is_language_tag, text_direction
from ...errors import UsageError, shown
from ...forked import cores
from ...model import Library, path_names
from ...output import atomic_path
from ...render import Scheme
from ...templates import asset, environment
from ...weasy import parts as book_parts
from ...weasy.parts import LINK_BASE, MIN_PART, PartedBook, layout_parts, plan
from .. import Build, ExporterBase, Produces, option

PAPER_SIZES = {"a4": "A4", "letter": "letter"}
#: The text column's width per paper (templates/pdf/book.css: 17 mm margins left and right), less a little so an
#: estimate a hair short never touches the edge.
TEXT_WIDTH_MM = {"a4": 210 - 34 - 2, "letter": 215.9 - 34 - 2}
#: Tables print at this size (book.css) and shrink to fit the column, not below the floor.
TABLE_PT, TABLE_FLOOR_PT = 8.8, 6.5
#: pre.hl line-height in templates/pdf/book.css; the wrap mark repeats at this pitch.
CODE_LINE_HEIGHT = 1.32
#: pre.hl's font size and its padding and borders left and right (templates/pdf/book.css).
CODE_PT, CODE_INSET_MM = 7.9, 2 * 2.6 + 2 * 0.5 * 25.4 / 72


def code_columns(paper: str) -> int:
    """Characters a code line holds in the text column; two fewer, for a block in a list (its indent) or a quote.
    A line with a word longer than this (``books.html.code_lines``) may break anywhere: WeasyPrint does not break a
    word of several highlighted tokens, which otherwise ran past the page edge (Kozea/WeasyPrint#1614)."""
    return int((TEXT_WIDTH_MM[paper] - CODE_INSET_MM) / (MONO_ADVANCE_EM * CODE_PT * 25.4 / 72)) - 2


@dataclass
class PdfOptions:
    paper: str = option("a4", "Paper size.", choices=tuple(PAPER_SIZES))
    answers: str = option("inline", "inline: a study booklet; end: a quiz with an answer key at the back.",
                          choices=("inline", "end"))
    title: str = option("", "Booklet title. Default: from the content.")
    author: str = option("", "Author shown on the cover and in the PDF metadata.")
    language: str = option("en", "Language of the content (BCP 47 code such as en or pt-BR): the PDF's /Lang, "
                                 "which screen readers and read-aloud voices follow.")
    tagged: bool = option(False, "Write a tagged PDF (structure tree for screen readers and reflow, PDF/UA tags); "
                                 "costs layout time, see the README.")
    parts: int = option(0, "Lay the booklet out in up to this many processes at once, in parts cut where a "
                           "framework starts a page, and in a big book also between questions, each such cut "
                           "starting a page (0: one per core when it pays off; 1: whole, in one process, up to a "
                           "size).")

    def __post_init__(self) -> None:
        self.title, self.author = clean_name(self.title), clean_name(self.author)  # as names from the content
        if not is_language_tag(self.language):
            raise UsageError(f"--language {shown(self.language)}: give a language code such as en or pt-BR")
        if self.parts < 0:
            raise UsageError(f"--parts {self.parts}: give 0 (automatic), 1 (whole) or more")


@dataclass(frozen=True)
class _Item:
    """A numbered question as the template shows it. Its HTML is the rendered text itself (the same string, not a
    copy, unless printing had to cut it), made template markup only when a part's HTML is made: a 50,000-question
    book would otherwise hold all its text twice."""

    number: int
    difficulty: str
    html_question: str
    html_answer: str
    width_mm: float  # the paper's text width: wide tables get smaller letters to fit it
    columns: int  # code columns the text width holds: longer code lines break inside it

    @property
    def question(self) -> Markup:
        return Markup(code_lines(self.html_question, MAY_WRAP, self.columns))

    @property
    def answer(self) -> Markup:
        return Markup(fit_tables(code_lines(self.html_answer, MAY_WRAP, self.columns), self.width_mm, TABLE_PT,
                                 TABLE_FLOOR_PT))


def _view(build: Build, paper: str = "a4") -> dict[str, Any]:
    """The library with anchors, numbered rendered items and a contents list for the template.

    A level named like its parent (a one-level Anki deck is framework, topic and subtopic at once) gets no
    heading, bookmark or contents line of its own: its questions count towards the level above.
    """
    lib = build.library
    frameworks = []
    toc: list[dict[str, Any]] = []
    number = 0
    for fw in lib.frameworks:
        topics = []
        fw_entry = None
        if len(lib.frameworks) > 1 or any(t.name == fw.name for t in fw.topics):
            fw_entry = {"cls": "toc-fw", "anchor": f"f-{fw.slug}", "name": fw.name, "count": 0}
            toc.append(fw_entry)
        for topic in fw.topics:
            subs = []
            topic_shown = topic.name != fw.name
            topic_entry = None
            if topic_shown:
                topic_entry = {"cls": "toc-topic", "anchor": f"t-{fw.slug}-{topic.slug}", "name": topic.name,
                               "count": 0}
                toc.append(topic_entry)
            for sub in topic.subtopics:
                items = []
                for q in sub.questions:
                    number += 1
                    question, answer = printed(build.rendered[q.key], q, build.warn)
                    items.append(_Item(number, q.difficulty.label if q.difficulty else "", question, answer,
                                       TEXT_WIDTH_MM[paper], code_columns(paper)))
                anchor = f"s-{fw.slug}-{topic.slug}-{sub.slug}"
                sub_shown = sub.name != topic.name
                if sub_shown:
                    toc.append({"cls": "toc-sub", "anchor": anchor, "name": sub.name, "count": len(items)})
                elif (owner := topic_entry or fw_entry) is not None:
                    owner["count"] += len(items)
                subs.append({"name": sub.name, "description": description_html(sub.description),
                             "questions": sub.questions,
                             "entries": items, "anchor": anchor, "shown": sub_shown,
                             "crumb": " › ".join(path_names(fw, topic, sub)[1:] or [fw.name]), "continued": False})
            topics.append({"name": topic.name, "description": description_html(topic.description), "subtopics": subs,
                           "anchor": f"t-{fw.slug}-{topic.slug}", "shown": topic_shown, "continued": False})
        frameworks.append({"name": fw.name,
                           "description": description_html(fw.description) if len(lib.frameworks) > 1 else "",
                           "topics": topics, "anchor": f"f-{fw.slug}", "continued": False})
    return {"frameworks": frameworks, "toc": toc}


class PdfExporter(ExporterBase):
    """Write a printable PDF study booklet: cover, contents, outline, numbered questions."""

    name = "pdf"
    outside_state = staticmethod(font_files_state)  # the font files its bytes depend on (their stamps)
    suffix = ".pdf"
    produces = Produces.FILE
    scheme = Scheme.COMPACT
    in_all = True
    heavy = True  # lays out on every core for most of a run: `all` lets the other formats use what it leaves
    Options = PdfOptions

    @staticmethod
    def prepare() -> None:
        """WeasyPrint takes ~0.2 s to import (its C bindings): while the texts render. The book's template too
        (Jinja's import and the compile, ~55 ms of CPU), here, once: the processes forked from this one after the
        rendering get it compiled — every part, the probe and the front document made the parts' HTML from a
        template each compiled again, each on its own path, and in `all` the other exporters' children each
        imported Jinja again."""
        from ...weasy import layout  # noqa: F401

        environment("pdf").get_template("book.html")

    @staticmethod
    def start_before_reading(sources: list[Path]) -> None:
        """Alone in its run, for sources whose files are small enough to be a book laid out whole (a third of
        ``MIN_PART`` in bytes: the measure ``prepare_alone`` takes of the texts read): the process that lays it out
        is started before the sources are read (if the command did not start it as it began: ``cli.app.start_ahead``),
        so it imports WeasyPrint while this one reads them as well as while it renders (``weasy.warm``);
        ``prepare_alone`` stops it if the book is bigger after all. Bigger sources stop it now."""
        from ...reading import size_at_most
        from ...weasy import warm

        if size_at_most(sources, MIN_PART // 3) is None:
            warm.stop()
        else:
            warm.start()

    @staticmethod
    def prepare_alone(library: Library) -> None:
        """Alone in its run, a book too small to be laid out in parts (its texts, with room for their markup,
        under ``MIN_PART``): the process that lays it out whole is started now, if ``start_before_reading`` did not,
        and imports WeasyPrint while this one renders (``weasy.warm``); a bigger book imports WeasyPrint here, as
        ``prepare`` does (its parts are forked from here), and ends a process started before the reading."""
        from ...weasy import warm

        size = sum(3 * (len(q.question) + len(q.answer)) + 400 for q in (ref.question for ref in library.questions()))
        if size >= MIN_PART:
            warm.stop()
            PdfExporter.prepare()
            return
        warm.start()

    def export(self, build: Build, options: PdfOptions, target: Path) -> None:
        lib = build.library
        library_view = _view(build, options.paper)
        created = build.datetime
        title = options.title or lib.title
        page = dict(
            language=options.language, direction=text_direction(options.language), title=title,
            subtitle=description_html(cover_subtitle(lib)),
            plain_subtitle=description_text(cover_subtitle(lib)), cover=cover_image(lib),
            author=options.author, keywords=", ".join(fw.name for fw in lib.frameworks),
            created=created.strftime("%Y-%m-%dT%H:%M:%SZ"), date=created.strftime("%d %B %Y").lstrip("0"),
            counts=lib.count_rows(), total=lib.count(),
            n_subtopics=sum(1 for _ in lib.subtopics()), n_frameworks=len(lib.frameworks),
            mode=options.answers, paper_size=PAPER_SIZES[options.paper],
        )

        def html(part: str = "whole", toc_pages: dict[str, str] | None = None, stamps: int = 0) -> str:
            return _book_html(page, library_view, part, toc_pages, stamps)

        mark = wrap_mark()
        rest = (asset("pdf", "book.css") + code_line_css(CODE_LINE_HEIGHT, mark.as_uri(), ".wrap")
                + build.highlighter.css(0))
        if text_direction(options.language) == "rtl":
            rest += asset("pdf", "rtl.css")
        keys = "\n".join(ref.question.key for ref in lib.questions())
        identifier = hashlib.sha256(f"{options.answers}:{options.paper}\n{keys}".encode()).hexdigest()[:32]
        sizes = [len(item.html_question) + len(item.html_answer) + 400 for item in _items(library_view)]
        pieces = [range(len(sizes))]
        workers = options.parts or cores()
        big = sum(sizes) > book_parts.WHOLE_MAX  # laid out in parts even with --parts 1: memory stays bounded
        if options.answers == "inline" and not options.tagged and (options.parts != 1 or big):
            pieces = _pieces(library_view, sizes, workers, MIN_PART if options.parts == 0 else 1)  # weasy.parts
        from ...weasy import warm

        if len(pieces) > 1:
            warm.stop()  # laid out in parts, forked from here: WeasyPrint imported here (weasy.parts)

        # A part's metadata is not the book's (the merge keeps the front document's): a body part names no date, so
        # that a part laid out in an earlier run is found again (weasy.kept).
        body_page = {**page, "created": ""}

        def body(piece: range) -> partial[str]:  # made in the part's child (pickled to it where there is no fork)
            return partial(_book_html, body_page,
                           {**library_view, "frameworks": _sliced(library_view["frameworks"], piece)}, "body")

        # A book in one part names only the faces its text can use (faces_for); one in parts, every face.
        if len(pieces) == 1:  # its stylesheet, from what the HTML is made of, set up ahead while the HTML is made
            warm.hint_setup(*_stylesheet(faces_for(_made_of(page, library_view) + rest), rest, mark))
        whole = html() if len(pieces) == 1 else ""
        css, files = _stylesheet(faces_for(whole + rest) if whole else font_faces(), rest, mark)
        with build.progress("Laying out PDF", None) as advance, atomic_path(target) as tmp:
            if len(pieces) > 1:
                book = PartedBook(
                    bodies=[body(piece) for piece in pieces], sizes=[sum(sizes[i] for i in piece) for piece in pieces],
                    front=lambda numbers, stamps: html("front", toc_pages=numbers, stamps=stamps),
                    stamps=lambda count: html("stamps", stamps=count),
                    anchors=[entry["anchor"] for entry in library_view["toc"]], css=css, workers=workers,
                    # a fallback face (variable) drawn with: WeasyPrint instances it in each part (weasy.parts)
                    variable_faces=bool(set(faces_for(_made_of(page, library_view) + rest)) & set(fallback_faces())))
                kept = None
                if build.cache_dir is not None:
                    from ...weasy.kept import for_build

                    kept = for_build(build.cache_dir, identifier, files, lib.media,
                                     build.time if build.time_fixed else None)
                missing = layout_parts(book, identifier, tmp, advance, str(target), lib.media, files, kept)
            else:  # in the process started by prepare_alone, else in a child forked now
                missing = warm.layout_whole(whole, css, identifier, tmp, advance, str(target), lib.media, files,
                                            options.tagged, keep_setup=build.cache_dir)
        warning = missing_glyphs_warning(missing, lib, title)
        if warning:
            build.warn(warning)


def _stylesheet(faces: tuple[FontFace, ...], rest: str, mark: Path) -> tuple[str, dict[str, Path]]:
    """The book's stylesheet with ``faces`` (their ``@font-face`` rules, then ``rest``) and the files it names."""
    return font_face_css(faces) + rest, {face.uri: face.path for face in faces} | {mark.as_uri(): mark}


def _made_of(page: dict[str, Any], view: dict[str, Any]) -> str:
    """Every text the whole book's HTML is made of: the template, the page's values and the view's, each question
    as the template prints it. Its characters are those of the HTML (``_book_html``) and a few more at most (names
    the template may not print): ``faces_for`` of it is the book's faces, made before the HTML (``warm.hint_setup``;
    where it is not, the layout sets up its own stylesheet, as without a hint)."""
    texts = [asset("pdf", "book.html")]
    stack: list[Any] = [page, view]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, _Item):
            texts += [value.question, value.answer, str(value.number), value.difficulty]
        elif isinstance(value, (int, float)):
            texts.append(str(value))
    return "".join(texts)


def _book_html(page: dict[str, Any], view: dict[str, Any], part: str = "whole",
               toc_pages: dict[str, str] | None = None, stamps: int = 0) -> str:
    """The book's HTML, or one of its parts (``body``: the questions of ``view``, ``front``: cover and contents with
    their page numbers, ``stamps``: footer-only pages)."""
    return environment("pdf").get_template("book.html").render(
        **page, library=view, part=part, toc_pages=toc_pages, stamps=stamps,
        link_base=LINK_BASE if part == "front" else "")


def _items(view: dict[str, Any]) -> list[_Item]:
    """Every numbered question of the view, in order."""
    return [item for fw in view["frameworks"] for topic in fw["topics"] for sub in topic["subtopics"]
            for item in sub["entries"]]


def _pieces(view: dict[str, Any], sizes: list[int], workers: int, min_part: int) -> list[range]:
    """The questions (by their place in the book) each part lays out. Parts begin where a framework begins (its
    heading starts a page, so the cut changes no page) and are balanced (``weasy.parts.plan``); a group of them
    bigger than ``MAX_PART`` is cut further between questions (:func:`_cuts`), each such part then starting a page:
    memory stays bounded whatever the bank. A book too small for two parts to pay (and up to ``WHOLE_MAX``) is laid
    out whole."""
    starts, heads, position = [], [], 0
    for fw in view["frameworks"]:
        starts.append(position)
        rank = 3  # the framework's first question, then each topic's, then each subtopic's
        for topic in fw["topics"]:
            rank = max(rank, 2)
            for sub in topic["subtopics"]:
                if sub["entries"]:
                    heads += [max(rank, 1)] + [0] * (len(sub["entries"]) - 1)
                    position += len(sub["entries"])
                    rank = 0
    starts.append(position)
    chapter_sizes = [sum(sizes[starts[i]:starts[i + 1]]) for i in range(len(starts) - 1)]
    total = sum(chapter_sizes)
    groups = plan(chapter_sizes, workers, min_part)
    if len(groups) == 1 and total <= book_parts.WHOLE_MAX and (workers == 1 or total < 2 * min_part):
        return [range(position)]
    return [piece for group in groups for piece in _cuts(sizes, heads, starts[group.start], starts[group.stop])]


def _cuts(sizes: list[int], heads: list[int], first: int, last: int) -> list[range]:
    """Questions ``first``..``last`` (one framework or a group of them) in parts of at most ``MAX_PART`` (a part of
    one question may be bigger), cut between questions. The fewest parts of ``MAX_PART`` it takes are balanced: each
    part, from the start, runs as far as their average size allows (rounded up to a twentieth of ``MAX_PART``), or
    back to the first question of a framework (``heads`` 3), a topic (2), else a subtopic (1) that begins in its last
    ``CUT_SLACK`` (the page the next part starts then begins at a heading); the last part is what is left. A heading
    always goes with the question it leads to (the part that holds that question prints it). Cut from the start with
    a rounded size: an edit moves no cut before it, and the cuts after it only when it moves a cut (or the rounded
    size), so the parts kept from an earlier run (``weasy.kept``) are found again."""
    before = list(accumulate(sizes[first:last], initial=0))  # before[j]: the size of the questions before first + j
    end, most = last - first, book_parts.MAX_PART
    count = -(-before[end] // most)
    grid = max(1, most // 20)
    share = min(most, -(-before[end] // (count * grid)) * grid)
    cuts = [0]
    while before[end] - before[cuts[-1]] > most:
        start = cuts[-1]
        if start + 1 == end:
            break  # one question bigger than a part
        # where the part may end: as far as its share allows (past one question at least, before the last)
        limit = min(end - 1, max(start + 1, bisect_right(before, before[start] + share) - 1))
        low = min(limit, max(start + 1, bisect_left(before, before[start] + share * (1 - book_parts.CUT_SLACK))))
        cuts.append(max(range(low, limit + 1), key=lambda j: (heads[first + j], j)))
    return [range(first + a, first + b) for a, b in zip(cuts, [*cuts[1:], end], strict=True)]


def _sliced(frameworks: list[dict[str, Any]], piece: range) -> list[dict[str, Any]]:
    """The view of the questions in ``piece``: the frameworks, topics and subtopics they belong to, each marked
    ``continued`` when the piece starts inside it (its heading was printed in the part before: the template then
    only carries its running heads on)."""
    out: list[dict[str, Any]] = []
    position = 0
    for fw in frameworks:
        topics = []
        fw_first = position
        for topic in fw["topics"]:
            subs = []
            topic_first = position
            for sub in topic["subtopics"]:
                entries = sub["entries"]
                sub_first, position = position, position + len(entries)
                if position <= piece.start or sub_first >= piece.stop:
                    continue
                kept = entries[max(0, piece.start - sub_first):piece.stop - sub_first]
                subs.append({**sub, "entries": kept, "continued": sub_first < piece.start})
            if subs:
                topics.append({**topic, "subtopics": subs, "continued": topic_first < piece.start})
        if topics:
            out.append({**fw, "topics": topics, "continued": fw_first < piece.start})
    return out
