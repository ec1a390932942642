"""EPUB 3 through ebooklib: nav document + NCX, one chapter per subtopic, popup-answer quiz mode.

Chapters are written from our own XHTML templates (ebooklib's HTML item would re-parse
them with an HTML parser); every file sits in one folder so stylesheet links need no
relative-path juggling (EPUBCheck RSC-007). The identifier is a UUID derived from the
content keys, so a rebuilt book is the same book to a reader's library.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ...books.fonts import (
    MONO,
    SERIF,
    STATIC_WEIGHTS,
    FontFace,
    covered,
    face_rules,
    fallback_faces,
    font_files_state,
    subset_font,
    text_faces,
)
from ...books.html import (
    WRAP_MARK,
    code_line_css,
    code_lines,
    cover_image,
    cover_subtitle,
    description_html,
    description_text,
    for_reader,
    wrap_mark,
)
from ...books.tables import scrollable_tables
from ...characters import clean_name
from ...directions import code_left_to_right, is_language_tag, text_direction
from ...errors import UsageError, shown
from ...model import Framework, Library, Subtopic, Topic, path_names
from ...output import atomic_path, write_zip
from ...render import Rendered, Scheme
from ...templates import asset, environment
from .. import Build, ExporterBase, Produces, option
from .cover import cover_svg

NAMESPACE = uuid.UUID("6f1c2d0e-8a4b-5c3d-9e7f-0a1b2c3d4e5f")
CSS_NAME = "book.css"
COVER_IMAGE = "cover.svg"
#: pre.hl line-height in templates/epub/book.css; the wrap mark repeats at this pitch.
CODE_LINE_HEIGHT = 1.35


@dataclass
class EpubOptions:
    answers: str = option("inline", "inline: answers under each question; end: quiz with popup answers.",
                          choices=("inline", "end"))
    title: str = option("", "Book title. Default: from the content.")
    author: str = option("", "Author (dc:creator). Default: none.")
    publisher: str = option("", "Publisher (dc:publisher). Default: none.")
    language: str = option("en", "Book language (BCP 47 code).")

    def __post_init__(self) -> None:
        self.title, self.author = clean_name(self.title), clean_name(self.author)  # as names from the content
        if not is_language_tag(self.language):
            raise UsageError(f"--language {shown(self.language)}: give a language code such as en or pt-BR")


def book_identifier(build: Build, quiz: bool) -> str:
    """urn:uuid from the subtopic keys: adding or fixing questions keeps the same book."""
    keys = sorted(f"{fw.slug}/{t.slug}/{s.slug}" for fw, t, s in build.library.subtopics())
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, ('quiz:' if quiz else 'study:') + chr(10).join(keys))}"


class EpubExporter(ExporterBase):
    """Write an EPUB 3 book: a chapter per subtopic, nav + NCX, a quiz mode with popup answers."""

    name = "epub"
    outside_state = staticmethod(font_files_state)  # the font files its bytes depend on (their stamps)
    suffix = ".epub"
    produces = Produces.FILE
    scheme = Scheme.COMPACT
    in_all = True
    night_mode = True  # a dark theme: Anki's night mode, EPUB readers' dark mode
    Options = EpubOptions

    @staticmethod
    def prepare() -> None:
        """ebooklib, Jinja and the compiled templates (~35 ms, a fourteenth of a 560-question book), and the text
        faces the book embeds: found (fontpkg reads every installed package's entry points), their character
        maps read and HarfBuzz imported (~20 ms) — while the texts render, on the core rendering leaves to this
        process, not after them with the other core idle. All of it is kept (imports, ``@cache``) for
        ``export``."""
        from ebooklib import epub  # noqa: F401

        from ...books import instances  # noqa: F401  # subset_font's HarfBuzz subsetter
        from ...formats import html  # noqa: F401  # description_text's to_text (no longer loaded with the readers)

        env = environment("epub")
        for name in ("cover.xhtml", "chapter.xhtml"):
            env.get_template(name)
        for face in _text_fonts():
            covered(face)

    @classmethod
    def prepare_alone(cls, library: Library) -> None:
        """``prepare``, and the library's descriptions made (``description_html`` keeps them): the cover's and the
        chapters' leads (~35 texts of inline Markdown in the 560-question book, and the parser made at the first)
        were made after the rendering with the other core idle; now while the texts render."""
        cls.prepare()
        for node in (n for fw in library.frameworks for n in (fw, *fw.topics, *(s for t in fw.topics
                                                                               for s in t.subtopics))):
            if node.description:
                description_html(node.description, reader=True)

    def export(self, build: Build, options: EpubOptions, target: Path) -> None:
        from ebooklib import epub  # imported only when a book is written

        quiz = options.answers == "end"
        lib = build.library
        env = environment("epub")
        title = options.title or lib.title
        book = epub.EpubBook()
        book.set_identifier(book_identifier(build, quiz))
        book.set_title(title + (" (quiz)" if quiz else ""))
        book.set_language(options.language)
        direction = text_direction(options.language)
        if direction == "rtl":  # page-progression-direction="rtl" on the spine: pages turn right to left
            book.set_direction(direction)
        if options.author:
            book.add_author(options.author)
        if options.publisher:
            book.add_metadata("DC", "publisher", options.publisher)
        subtitle = description_text(cover_subtitle(lib))
        if subtitle:
            book.add_metadata("DC", "description", subtitle)
        book.add_metadata("DC", "subject", "Interview questions")
        for prop, value in accessibility_metadata(quiz):
            book.add_metadata(None, "meta", value, {"property": prop})

        hl = build.highlighter
        css = (asset("epub", CSS_NAME) + code_line_css(CODE_LINE_HEIGHT, WRAP_MARK)
               + "\n/* code theme: " + hl.themes[0].name + " */\n" + hl.css(0))
        if len(hl.themes) > 1:
            css += "@media (prefers-color-scheme: dark) {\n" + hl.css(1) + "}\n"
        if direction == "rtl":
            css += asset("epub", "rtl.css")
        style = epub.EpubItem(uid="style", file_name=CSS_NAME, media_type="text/css")  # its fonts come last
        book.add_item(style)
        book.add_item(epub.EpubItem(uid="wrap-mark", file_name=WRAP_MARK, media_type="image/svg+xml",
                                    content=wrap_mark().read_bytes()))

        count_list = lib.count_rows()
        image = cover_image(lib)
        if image is not None:  # the bank's own cover image is the book's cover on shelves, and on its cover page
            _set_cover(epub, book, image["name"], lib.media[image["name"]].data, lib.media[image["name"]].mime)
        else:
            _set_cover(epub, book, COVER_IMAGE, cover_svg(title, subtitle, lib.count(), count_list, quiz,
                                                          options.author, options.language).encode(), "image/svg+xml")
        cover = epub.EpubItem(uid="cover", file_name="cover.xhtml", media_type="application/xhtml+xml",
                              content=env.get_template("cover.xhtml").render(
                                  language=options.language, direction=direction, css_href=CSS_NAME, title=title,
                                  subtitle=description_html(cover_subtitle(lib), reader=True),
                                  cover=image, total=lib.count(), counts=count_list,
                                  quiz=quiz, author=options.author, date=build.datetime.date().isoformat(),
                              ).encode())
        book.add_item(cover)
        spine: list = [cover, "nav"]
        toc: list = []
        chapters = _chapters(lib)
        with build.progress("Writing EPUB", lib.count()) as advance:
            pages, chars = _chapter_pages(partial(_page, env, build, options.language, quiz), chapters, advance)
        chars.update(cover.content.decode(), title, options.author or "")  # what the embedded fonts must hold
        done = iter(zip(chapters, pages, strict=True))
        for fw in lib.frameworks:
            fw_entries: list = []
            for topic in fw.topics:
                topic_links = []
                for _ in topic.subtopics:
                    chapter, page = next(done)
                    sub = chapter.subtopic
                    item = epub.EpubItem(uid=f"c-{fw.slug}-{topic.slug}-{sub.slug}", file_name=chapter.file_name,
                                         media_type="application/xhtml+xml", content=page)
                    if b"<math " in page:  # EPUB 3: a chapter with MathML says so in the manifest
                        item.properties = ["mathml"]
                    book.add_item(item)
                    spine.append(item)
                    topic_links.append(epub.Link(chapter.file_name, sub.name, f"n-{fw.slug}-{topic.slug}-{sub.slug}"))
                entry = _nav_entry(epub, topic.name, topic_links)
                # A topic named like its framework (a one-level Anki deck) is not a level of its own.
                fw_entries += topic_links if topic.name == fw.name and isinstance(entry, tuple) else [entry]
            toc.append(_nav_entry(epub, fw.name, fw_entries))
        for item in _media_items(epub, build, skip=image["name"] if image else ""):
            book.add_item(item)
        fonts, font_css = _embedded_fonts(epub, chars)
        for item in fonts:
            book.add_item(item)
        style.content = (css + font_css).encode()
        book.toc = toc
        book.spine = spine
        book.add_item(epub.EpubNcx())
        book.add_item(epub.EpubNav(uid="nav", file_name="nav.xhtml"))
        book.guide = []

        buffer = io.BytesIO()
        # ebooklib's zip is only read back here and written again by write_zip: deflating it (level 6, its
        # default) was a fifth of the export. Level 0 stores the same bytes; options it does not know it ignores.
        epub.write_epub(buffer, book, {"mtime": build.datetime, "raise_exceptions": True, "epub2_guide": False,
                                       "compresslevel": 0})
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as raw:
            names = ["mimetype"] + [n for n in raw.namelist() if n != "mimetype"]
            entries = [(n, _package_language(raw.read(n), options.language) if n.endswith(".opf")
                        else _nav_direction(raw.read(n), direction) if n.endswith("/nav.xhtml") else raw.read(n))
                       for n in names]
        with atomic_path(target) as tmp:
            write_zip(tmp, entries, build.time, stored=frozenset({"mimetype"}))


def _set_cover(epub: Any, book: Any, name: str, data: bytes, media_type: str) -> None:
    """``book.set_cover(name, data, create_page=False)`` with the media type given: ebooklib would guess it from the
    name, and its first guess loads the system's MIME tables (``mimetypes.init``: ~2 ms of every book)."""
    cover = epub.EpubCover(file_name=name)
    cover.media_type = media_type
    cover.content = data
    book.add_item(cover)
    book.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-img"})


@dataclass(frozen=True)
class _Chapter:
    """A subtopic's page: where it sits, the number of its first question, and whether it opens its framework or
    topic (then their descriptions lead it, as an Anki deck's description opens the deck)."""

    framework: Framework
    topic: Topic
    subtopic: Subtopic
    first_number: int
    opens_framework: bool
    opens_topic: bool

    @property
    def file_name(self) -> str:
        return f"{self.framework.slug}-{self.topic.slug}-{self.subtopic.slug}.xhtml"


def _chapters(lib: Library) -> list[_Chapter]:
    chapters, number = [], 1
    for fw in lib.frameworks:
        for t, topic in enumerate(fw.topics):
            for s, sub in enumerate(topic.subtopics):
                chapters.append(_Chapter(fw, topic, sub, number, t == 0 and s == 0, s == 0))
                number += len(sub.questions)
    return chapters


def _page(env: Any, build: Build, language: str, quiz: bool, chapter: _Chapter) -> str:
    """A chapter's XHTML page."""
    fw, topic, sub = chapter.framework, chapter.topic, chapter.subtopic
    items = [{"number": chapter.first_number + i, "question": q, "html": _markup(build.rendered[q.key])}
             for i, q in enumerate(sub.questions)]
    names = path_names(fw, topic, sub)
    leads = [description_html(n.description, reader=True) for n, first in (
        (fw, chapter.opens_framework), (topic, chapter.opens_topic), (sub, True)) if first and n.description]
    direction = text_direction(language)
    page = env.get_template("chapter.xhtml").render(
        language=language, direction=direction, css_href=CSS_NAME, crumb=" › ".join(names[:-1]), heading=names[-1],
        leads=list(dict.fromkeys(leads)), items=items, quiz=quiz,
    )
    return code_left_to_right(page) if direction == "rtl" else page


#: A book of at least this many questions has half its chapters made by a forked helper (see ``_chapter_pages``).
HELPER_QUESTIONS = 200


def _made(page: Callable[[_Chapter], str], chapters: list[_Chapter], report: Callable[[int], None]
          ) -> tuple[list[bytes], set[str]]:
    """The pages of ``chapters`` (encoded) and the characters they hold; ``report(n)`` after each (its questions)."""
    pages, chars = [], set()
    for chapter in chapters:
        text = page(chapter)
        chars.update(text)
        pages.append(text.encode())
        report(len(chapter.subtopic.questions))
    return pages, chars


def _chapter_pages(page: Callable[[_Chapter], str], chapters: list[_Chapter], advance: Callable[[int], None]
                   ) -> tuple[list[bytes], set[str]]:
    """Every chapter's page (encoded) and the characters of all of them. In a book of :data:`HELPER_QUESTIONS` or
    more, where processes are forked and a second core is free, a forked helper makes the second half of the pages
    while this process makes the first (the texts reach it by the fork; its pages come back through a pipe):
    the pages (~27 ms for 560 questions: their code lines, Jinja) and their characters (~10 ms) were made after
    the rendering with the other core idle. The same pages either way."""
    from ...forked import Children, can_fork, cores

    total = sum(len(c.subtopic.questions) for c in chapters)
    half, count = 0, 0
    while half < len(chapters) and count * 2 < total:  # as many questions on each side as the chapters allow
        count += len(chapters[half].subtopic.questions)
        half += 1
    if total < HELPER_QUESTIONS or not 0 < half < len(chapters) or not can_fork() or cores() < 2:
        return _made(page, chapters, advance)
    with Children(lambda _index, n: advance(n), lambda cause: f"EPUB chapters failed ({cause}); nothing was written"
                  ) as group:
        group.start(partial(_made, page, chapters[half:]))
        pages, chars = _made(page, chapters[:half], advance)
        theirs, their_chars = group.results()[0]
    return pages + theirs, chars | their_chars


def _href(entry: Any) -> str:
    return entry[0].href if isinstance(entry, tuple) else entry.href


def _nav_entry(epub: Any, name: str, children: list) -> Any:
    """A nav section, or its only child when that child has the same name (never the same line twice)."""
    if len(children) == 1 and not isinstance(children[0], tuple) and children[0].title == name:
        return children[0]
    return (epub.Section(name, _href(children[0])), children)


_MEDIA_SRC = re.compile(r'src="([0-9a-f]{16}\.[a-z]+)"')


def _text_fonts() -> list[FontFace]:
    """The text faces a book embeds: Noto Serif and JetBrains Mono, upright and italic."""
    return [face for face in text_faces() if face.family in (SERIF, MONO)]


def _embedded_fonts(epub: Any, chars: set[str]) -> tuple[list[Any], str]:
    """The book's fonts, each cut down to the characters the book holds (a face none of them is in is left out),
    and the CSS that names them: text in Noto Serif, code in JetBrains Mono, then the symbol, emoji and script
    faces for what those lack, so no character shows as a box on a reader without such fonts. Readers that let
    the user pick a font still do. The text faces go in as fixed regular and bold files (``STATIC_WEIGHTS``; many
    readers draw only a variable font's default) without their layout tables (see ``subset_font``): the seed's
    book went from 279 to 86 KiB, and making its fonts from about 2.4 s of CPU to 0.5 s."""
    text_fonts = _text_fonts()
    drawn = {c for c in chars if c.isprintable()}  # no font draws a line break
    lacking = drawn - frozenset.intersection(*(covered(face) for face in text_fonts))  # what a fallback must draw
    items, names = [], {}
    for face in [*text_fonts, *fallback_faces()]:
        wanted = chars if face in text_fonts else lacking and lacking & covered(face)  # reading a cmap costs
        if face not in text_fonts:
            lacking -= wanted
        for weight in STATIC_WEIGHTS if face in text_fonts else STATIC_WEIGHTS[:1]:  # readers embolden the rest
            data = subset_font(face, wanted, weight, layout=face not in text_fonts) if wanted else None
            if data is None:
                continue
            stem = face.family.removeprefix("qaexport ").lower().replace(" ", "-")
            bold = "-bold" if weight > STATIC_WEIGHTS[0] else ""
            fixed = replace(face, weights=str(weight) if face in text_fonts else "")
            names[fixed] = f"fonts/{stem}{bold}{'-italic' if face.style == 'italic' else ''}.ttf"
            items.append(epub.EpubItem(uid=f"font-{len(items)}", file_name=names[fixed], media_type="font/ttf",
                                       content=data))
    rules = face_rules(names, names.__getitem__)
    fallbacks = "".join(f', "{face.family}"' for face in names if face.family not in (SERIF, MONO))
    rules += (f'body {{ font-family: "{SERIF}", serif{fallbacks}; }}\n'
              f'code, pre {{ font-family: "{MONO}", Menlo, Consolas, monospace{fallbacks}; }}\n')
    return items, "\n/* fonts: embedded, subsetted to this book's characters */\n" + rules


def _media_items(epub: Any, build: Build, skip: str = "") -> list:
    """The library's images that the book shows, as manifest items beside the chapters (``src="NAME"``); ``skip``
    is the cover image, already in the manifest as the cover."""
    media = build.library.media
    if not media:  # nothing any text could show (most banks): no search through every text
        return []
    used: set[str] = set()
    for rendered in build.rendered.values():
        used.update(_MEDIA_SRC.findall(rendered.question))
        used.update(_MEDIA_SRC.findall(rendered.answer))
    return [epub.EpubItem(uid=f"m-{name.replace('.', '-')}", file_name=name, media_type=media[name].mime,
                          content=media[name].data) for name in sorted(used) if name in media and name != skip]


def _markup(rendered: Rendered) -> dict[str, Markup]:
    """The renderer's HTML is already safe; mark it so the autoescaping template keeps it as markup. A question
    of several paragraphs is a heading (its first paragraph) and blocks after it: a heading holds inline text.
    Formulas as MathML, for the reading system to typeset."""
    heading, rest = rendered.heading_and_rest()
    return {"heading": Markup(for_reader(heading)), "rest": Markup(scrollable_tables(code_lines(for_reader(rest)))),
            "answer": Markup(scrollable_tables(code_lines(for_reader(rendered.answer))))}


def accessibility_metadata(quiz: bool) -> list[tuple[str, str]]:
    """EPUB Accessibility 1.1 / schema.org metadata: what Ace by DAISY and reading systems look for."""
    answers = ("each answer is a footnote linked from its question and back" if quiz
               else "each answer follows its question")
    summary = ("Text-only study book: one chapter per subtopic with headings for every question, "
               f"{answers}; a navigation document and table of contents; code is real text with "
               "syntax colours that are not needed to understand it; no images carry content, no media, "
               "no flashing; the reading system's fonts, sizes and day/night colours apply.")
    return [
        ("schema:accessMode", "textual"),
        ("schema:accessModeSufficient", "textual"),
        ("schema:accessibilityFeature", "structuralNavigation"),
        ("schema:accessibilityFeature", "tableOfContents"),
        ("schema:accessibilityFeature", "readingOrder"),
        ("schema:accessibilityFeature", "displayTransformability"),
        ("schema:accessibilityHazard", "none"),
        ("schema:accessibilitySummary", summary),
    ]


def _nav_direction(nav: bytes, direction: str) -> bytes:
    """``dir="rtl"`` on the table of contents of a right-to-left book: ebooklib writes its nav page with the
    book's language but no direction (its ``EpubNav`` takes one only for pages it lays out itself)."""
    if direction != "rtl":
        return nav
    return re.sub(rb"<html\b", b'<html dir="rtl"', nav, count=1)


def _package_language(opf: bytes, language: str) -> bytes:
    """``xml:lang`` on ``<package>``: ebooklib writes the book language only as dc:language."""
    return opf.replace(b"<package ", f'<package xml:lang="{language}" '.encode(), 1)
