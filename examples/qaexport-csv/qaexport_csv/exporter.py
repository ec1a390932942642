"""Tab-separated text for Anki's and Quizlet's text import.

``--flavour anki`` writes Anki's file headers (separator, columns, tags column) and quotes fields
that hold tabs, quotes or line breaks; ``--flavour quizlet`` writes one "term<TAB>definition" line
per card, line breaks inside a text shown as " / " (Quizlet's importer splits cards on newlines).
Texts come in the PLAIN scheme: the Markdown as written, no HTML.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from qaexport.exporters import Build, ExporterBase, Produces, option
from qaexport.output import atomic_path
from qaexport.render import Scheme


@dataclass
class TsvOptions:
    flavour: str = option("anki", "anki: Anki's text import (with headers and tags); quizlet: term<TAB>definition.",
                          choices=("anki", "quizlet"))


class TsvExporter(ExporterBase):
    """Write tab-separated text for Anki's or Quizlet's text import."""

    name = "tsv"
    suffix = ".tsv"
    produces = Produces.FILE
    scheme = Scheme.PLAIN
    in_all = False
    Options = TsvOptions

    def export(self, build: Build, options: TsvOptions, target: Path) -> None:
        buffer = io.StringIO(newline="")
        if options.flavour == "anki":
            buffer.write("#separator:tab\n#html:false\n#columns:Question\tAnswer\tTags\n#tags column:3\n")
            writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
            for ref in build.library.questions():
                text = build.rendered[ref.question.key]
                tags = [f"{ref.framework.slug}::{ref.topic.slug}::{ref.subtopic.slug}"]
                if ref.question.difficulty is not None:
                    tags.insert(0, f"difficulty::{ref.question.difficulty.label}")
                writer.writerow([text.question, text.answer, " ".join(tags)])
        else:
            for ref in build.library.questions():
                text = build.rendered[ref.question.key]
                buffer.write(f"{_one_line(text.question)}\t{_one_line(text.answer)}\n")
        with atomic_path(target) as tmp:
            tmp.write_text(buffer.getvalue(), encoding="utf-8")


def _one_line(text: str) -> str:
    return " / ".join(line.strip() for line in text.replace("\t", " ").splitlines() if line.strip())
