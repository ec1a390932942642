"""Printable study booklet: cover, TOC with page numbers, outline, quiz mode.

This module builds the HTML from templates; ``pdf_layout`` lays it out with WeasyPrint in
a child process, so the layout's memory is returned when it ends (and WeasyPrint is only
imported when a PDF is asked for).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..model import Difficulty, path_names
from ..output import atomic_path
from ..render import Scheme
from ..templates import asset, environment
from . import Build, Produces, option

PAPER_SIZES = {"a4": "A4", "letter": "letter"}


@dataclass
class PdfOptions:
    paper: str = option("a4", "Paper size.", choices=tuple(PAPER_SIZES))
    answers: str = option("inline", "inline: a study booklet; end: a quiz with an answer key at the back.",
                          choices=("inline", "end"))
    title: str = option("", "Booklet title. Default: from the content.")
    author: str = option("", "Author shown on the cover and in the PDF metadata.")


def _view(build: Build) -> dict[str, Any]:
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
                    html = build.rendered[q.key]
                    items.append({"number": number, "difficulty": q.difficulty.label if q.difficulty else "",
                                  "question": Markup(html.question), "answer": Markup(html.answer)})
                anchor = f"s-{fw.slug}-{topic.slug}-{sub.slug}"
                sub_shown = sub.name != topic.name
                if sub_shown:
                    toc.append({"cls": "toc-sub", "anchor": anchor, "name": sub.name, "count": len(items)})
                elif (owner := topic_entry or fw_entry) is not None:
                    owner["count"] += len(items)
                subs.append({"name": sub.name, "description": sub.description, "questions": sub.questions,
                             "entries": items, "anchor": anchor, "shown": sub_shown,
                             "crumb": " › ".join(path_names(fw, topic, sub)[1:] or [fw.name])})
            topics.append({"name": topic.name, "description": topic.description, "subtopics": subs,
                           "anchor": f"t-{fw.slug}-{topic.slug}", "shown": topic_shown})
        frameworks.append({"name": fw.name, "description": fw.description if len(lib.frameworks) > 1 else "",
                           "topics": topics, "anchor": f"f-{fw.slug}"})
    return {"frameworks": frameworks, "toc": toc}


class PdfExporter:
    """Write a printable PDF study booklet: cover, contents, outline, numbered questions."""

    name = "pdf"
    suffix = ".pdf"
    produces = Produces.FILE
    scheme = Scheme.COMPACT
    in_all = True
    Options = PdfOptions

    def export(self, build: Build, options: PdfOptions, target: Path) -> None:
        lib = build.library
        library_view = _view(build)
        counts = lib.counts_by_difficulty()
        created = build.datetime
        html = environment("pdf").get_template("book.html").render(
            language="en", title=options.title or lib.title,
            subtitle=lib.frameworks[0].description if len(lib.frameworks) == 1 else "",
            author=options.author, keywords=", ".join(fw.name for fw in lib.frameworks),
            created=created.strftime("%Y-%m-%dT%H:%M:%SZ"), date=created.strftime("%d %B %Y").lstrip("0"),
            counts=[(d.label, counts[d]) for d in Difficulty], total=lib.count(),
            n_subtopics=sum(1 for _ in lib.subtopics()), n_frameworks=len(lib.frameworks),
            library=library_view, mode=options.answers, paper_size=PAPER_SIZES[options.paper],
        )
        css = asset("pdf", "book.css") + build.highlighter.css(0)
        keys = "\n".join(ref.question.key for ref in lib.questions())
        identifier = hashlib.sha256(f"{options.answers}:{options.paper}\n{keys}".encode()).hexdigest()[:32]
        from .pdf_layout import layout_in_child  # imports WeasyPrint: only when a PDF is asked for

        with build.progress("Laying out PDF", 7) as advance, atomic_path(target) as tmp:
            layout_in_child(html, css, identifier, tmp, advance, label=str(target), media=lib.media)
