"""A static study site: an index, a page per subtopic, answers hidden until revealed, search, progress.

Everything is files with relative links, so the folder works opened from disk (``file://``) and from any
static host. The pages run only the site's own script files (a Content-Security-Policy forbids any other
script, inline ones included) and fetch nothing from anywhere else. Progress (seen, knew it, didn't) stays in
the browser's ``localStorage``, keyed by each question's stable key, so it survives re-exports of the bank.

``Site`` makes each page on its own, so ``qaexport serve`` can serve them one at a time from a changing bank;
``SiteExporter`` writes them all. The search index is described in ``search``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ...books.html import description_html, for_reader, formulas_as_tex
from ...directions import is_language_tag, text_direction
from ...errors import UsageError
from ...model import Difficulty, Framework, Subtopic, Topic, path_names
from ...output import replace_tree
from ...render import Scheme
from ...templates import asset, environment
from .. import Build, ExporterBase, Produces, option
from .search import Entry, PageInfo, index_script, plain_text

#: Present in every site folder: only a folder holding it (or an empty one) is ever replaced.
MARKER = ".qaexport-site"
#: No script but the site's own files; nothing loaded from anywhere else; no plugins, no <base>.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
ASSET_FILES = ("theme.js", "site.js")
LABELS = [d.label for d in Difficulty] + ["unrated"]


@dataclass
class SiteOptions:
    title: str = option("", "Site title. Default: from the content.")
    language: str = option("en", "Language of the content (BCP 47 code such as en or pt-BR): the pages' lang, "
                                 "which screen readers and read-aloud voices follow.")

    def __post_init__(self) -> None:
        if not is_language_tag(self.language):
            raise UsageError(f"--language {self.language!r}: give a language code such as en or pt-BR")


@dataclass(frozen=True)
class SubtopicPage:
    framework: Framework
    topic: Topic
    subtopic: Subtopic
    path: str  # relative to the site root: <framework>/<topic>/<subtopic>.html (slugs hold no '/')

    @property
    def key(self) -> str:
        return f"{self.framework.slug}/{self.topic.slug}/{self.subtopic.slug}"

    @property
    def names(self) -> list[str]:
        return path_names(self.framework, self.topic, self.subtopic)


def scrollable(rendered_html: str) -> str:
    """Code, tables and displayed formulas scroll sideways inside their own box on a phone; such a box must take
    keyboard focus so it can be scrolled without a mouse (WCAG 2.1.1)."""
    out = rendered_html.replace('<pre class="hl">', '<pre class="hl" tabindex="0">')
    out = out.replace('<div class="math-block">', '<div class="math-block" tabindex="0">')  # a long formula
    if "<table" in out:
        out = out.replace("<table>", '<div class="table" tabindex="0"><table>').replace("</table>", "</table></div>")
    return out


_MEDIA_SRC = re.compile(r'src="([0-9a-f]{16}\.[a-z0-9]+)"')


def counts(subtopics: list[Subtopic]) -> list[tuple[str, int]]:
    """(difficulty, questions) in order, unrated only when there are such questions."""
    found = dict.fromkeys(LABELS, 0)
    for sub in subtopics:
        for q in sub.questions:
            found[q.difficulty.label if q.difficulty else "unrated"] += 1
    return [(label, n) for label, n in found.items() if n or label != "unrated"]


@dataclass(frozen=True)
class Live:
    """What pages served by ``qaexport serve`` add: its reload script (told the bank's version the page shows),
    a preview link per question, and the bank's problems and warnings on every page (the warnings as
    ``validate`` prints them: a file no reader takes, an image left out). Never in a written site."""

    version: int
    problems: list[str]
    warnings: list[str] = field(default_factory=list)


class Site:
    """The pages of one build (``live``: as ``qaexport serve`` serves them)."""

    def __init__(self, build: Build, options: SiteOptions, live: Live | None = None) -> None:
        self.build = build
        self.options = options
        self.live = live
        self.title = options.title or build.library.title
        self.subtopics = [SubtopicPage(fw, topic, sub, f"{fw.slug}/{topic.slug}/{sub.slug}.html")
                          for fw, topic, sub in build.library.subtopics()]
        self.by_path = {page.path: page for page in self.subtopics}
        self.env = environment("site")

    # --- what there is -------------------------------------------------------------------------------

    def paths(self) -> list[str]:
        """Every file of the site, relative to its root."""
        fixed = ["index.html", "search.html", "review.html", "assets/site.css", "assets/search-index.js"]
        return (fixed + [f"assets/{name}" for name in ASSET_FILES] + [p.path for p in self.subtopics]
                + [f"media/{name}" for name in self.used_media()])

    def used_media(self) -> list[str]:
        """The library's images the pages show (HTML content from an Anki package refers to them by name)."""
        media = self.build.library.media
        if not media:
            return []
        used = {name for r in self.build.rendered.values() for text in (r.question, r.answer)
                for name in _MEDIA_SRC.findall(text)}
        return sorted(used & set(media))

    def html(self, rendered_html: str, root: str) -> str:
        """Rendered HTML as a page shows it: formulas as MathML (browsers typeset it; the drawing is for print),
        images from ``media/``, code and tables scrolling in their own box."""
        return scrollable(self._media(for_reader(rendered_html), root))

    def _media(self, html: str, root: str) -> str:
        """Image names pointed at the site's ``media/`` folder from a page ``root`` below the top."""
        media = self.build.library.media
        if not media or "src=" not in html:
            return html
        return _MEDIA_SRC.sub(lambda m: f'src="{root}media/{m.group(1)}"' if m.group(1) in media else m.group(0),
                              html)

    def files(self) -> dict[str, bytes]:
        """The whole site (and its marker), each file once, in a fixed order: the same bank gives the same bytes."""
        files = {path: self.file(path) for path in self.paths()}
        files[MARKER] = b"A study site written by qaexport: `qaexport site` rewrites this folder.\n"
        return {path: data for path, data in files.items() if data is not None}  # type: ignore[misc]

    def file(self, path: str) -> bytes | None:
        """One file of the site, made now; None for a path that is not one."""
        if path in self.by_path:
            return self.subtopic_page(self.by_path[path])
        if path == "index.html":
            return self.index_page()
        if path in ("search.html", "review.html"):
            return self.render_page(path, path.removesuffix(".html"), "", {})
        if path == "assets/site.css":
            return self.css().encode()
        if path == "assets/search-index.js":
            return self.search_index()
        if path.startswith("assets/") and path.removeprefix("assets/") in ASSET_FILES:
            return asset("site", path.removeprefix("assets/")).encode()
        if path.startswith("media/") and path.removeprefix("media/") in self.build.library.media:
            return self.build.library.media[path.removeprefix("media/")].data
        return None

    # --- pages ---------------------------------------------------------------------------------------

    def render_page(self, template: str, kind: str, root: str, values: dict[str, Any], title: str = "",
                    csp: str = CSP) -> bytes:
        """A page from one of the site's templates (``root``: the way back to the site's top from it)."""
        page = self.env.get_template(template).render(
            language=self.options.language, direction=text_direction(self.options.language), csp=Markup(csp),
            root=root, kind=kind, site_title=self.title,
            page_title=f"{title} · {self.title}" if title else self.title, live=self.live,
            date=self.build.datetime.date().isoformat(), total=self.build.library.count(), **values)
        return page.encode()

    def index_page(self) -> bytes:
        frameworks = []
        for fw in self.build.library.frameworks:
            topics = []
            for topic in fw.topics:
                subs = [{"name": sub.name, "href": f"{fw.slug}/{topic.slug}/{sub.slug}.html",
                         "key": f"{fw.slug}/{topic.slug}/{sub.slug}", "counts": counts([sub]),
                         "total": len(sub.questions)} for sub in topic.subtopics]
                topics.append({"name": topic.name, "shown": topic.name != fw.name, "subtopics": subs,
                               "counts": counts(topic.subtopics),
                               "description": description_html(topic.description, reader=True)})
            frameworks.append({"name": fw.name, "description": description_html(fw.description, reader=True),
                               "topics": topics,
                               "counts": counts([s for t in fw.topics for s in t.subtopics])})
        return self.render_page("index.html", "index", "", {
            "frameworks": frameworks, "counts": counts([s for _, _, s in self.build.library.subtopics()])})

    def subtopic_page(self, page: SubtopicPage) -> bytes:
        root = "../../"
        items = []
        for number, q in enumerate(page.subtopic.questions, 1):
            rendered = self.build.rendered[q.key]
            heading, rest = rendered.heading_and_rest()
            items.append({"number": number, "id": q.id, "key": q.key, "origin": q.origin or "",
                          "difficulty": q.difficulty.label if q.difficulty else "",
                          "heading": Markup(self.html(heading, root)), "rest": Markup(self.html(rest, root)),
                          "answer": Markup(self.html(rendered.answer, root))})
        index = self.subtopics.index(page)
        neighbours: dict[str, dict[str, str] | None] = {"previous": None, "next": None}
        for name, at in (("previous", index - 1), ("next", index + 1)):
            if 0 <= at < len(self.subtopics):
                other = self.subtopics[at]
                neighbours[name] = {"href": root + other.path, "name": " › ".join(other.names)}
        return self.render_page("subtopic.html", "subtopic", root, {
            "crumbs": page.names[:-1], "heading": page.names[-1],
            "lead": description_html(page.subtopic.description, reader=True),
            "items": items, "counts": counts([page.subtopic]), "key": page.key, **neighbours,
        }, title=page.names[-1])

    # --- assets --------------------------------------------------------------------------------------

    def css(self) -> str:
        """The site's CSS and the code theme pair: the night theme when the system asks for dark colours or
        the reader picks night, the day theme otherwise."""
        hl = self.build.highlighter
        css = asset("site", "site.css") + f"\n/* code theme: {hl.themes[0].name} */\n" + hl.css(0)
        if text_direction(self.options.language) == "rtl":
            css += asset("site", "rtl.css")
        if len(hl.themes) > 1:
            css += (f"/* night theme: {hl.themes[1].name} (on screens; paper gets the day theme) */\n"
                    + "@media screen {\n" + hl.css(1, ':root[data-theme="night"]') + "}\n"
                    + "@media screen and (prefers-color-scheme: dark) {\n"
                    + hl.css(1, ':root:not([data-theme="light"])') + "}\n")
        return css

    def search_index(self) -> bytes:
        pages = [PageInfo(p.path, p.key, " › ".join(p.names)) for p in self.subtopics]
        entries = []
        for number, page in enumerate(self.subtopics):
            for q in page.subtopic.questions:
                rendered = self.build.rendered[q.key]
                entries.append(Entry(number, q.id, plain_text(formulas_as_tex(rendered.question)),
                                     plain_text(formulas_as_tex(rendered.answer)),
                                     q.difficulty.label if q.difficulty else "unrated"))
        return index_script(pages, entries)


class SiteExporter(ExporterBase):
    """Write a static study site: a page per subtopic, answers to reveal, search and progress, no server."""

    name = "site"
    suffix = "-site"
    produces = Produces.FOLDER
    scheme = Scheme.COMPACT
    in_all = True
    night_mode = True  # the night code theme for the site's night colours
    Options = SiteOptions

    @staticmethod
    def prepare() -> None:
        """The compiled templates, while the texts render."""
        env = environment("site")
        for name in ("index.html", "subtopic.html", "search.html", "review.html"):
            env.get_template(name)

    def export(self, build: Build, options: SiteOptions, target: Path) -> None:
        site = Site(build, options)
        with build.progress("Writing site", None) as advance:
            files = site.files()
            advance(len(files))
            replace_tree(target, files, MARKER)
