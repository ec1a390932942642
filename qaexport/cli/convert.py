"""``qaexport convert``: rewrite any source as another source format (today: a Markdown bank).

Conversion works from the source texts, not rendered HTML, so it renders nothing: it reads,
merges and filters like every command, then hands the library to a folder-producing exporter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import exporters
from ..errors import UsageError
from ..exporters import Build
from ..render import DEFAULT_NIGHT_THEME, DEFAULT_THEME, Highlighter
from .common import DifficultyOpt, Sources, TopicOpt, handle_errors, load_library, out, progress


def targets() -> dict[str, type]:
    """Exporters that write a source format: a folder, from the texts, outside ``qaexport all``."""
    return {name: cls for name, cls in exporters.registry().items()
            if getattr(cls, "produces", "file") == "folder" and getattr(cls, "scheme", "") == "none"}


@handle_errors
def convert_cmd(
    srcs: Sources = None,
    to: Annotated[str, typer.Option("--to", metavar="FORMAT", help="Format to write: markdown.")] = "markdown",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="DIR", show_default=False,
                                                help="Folder to write the bank into (new or empty).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder, overwriting only the "
                                                        "bank's own files; nothing is deleted.")] = False,
    difficulty: DifficultyOpt = None,
    topic: TopicOpt = None,
) -> None:
    """Convert SOURCES (payloads or Markdown banks) into a Markdown bank you can edit and keep in git.

    Writes DIR/<framework>/<topic>/NN-<subtopic>.md with every id and slug spelled out; building any
    format from DIR gives the same Anki notes and books as building from SOURCES.

    Example: qaexport convert data/ --to markdown -o bank/
    """
    found = targets()
    if to not in found:
        raise UsageError(f"--to {to!r}: can convert to {', '.join(found) or 'nothing (no converter installed)'}")
    if output is None:
        raise UsageError("convert needs -o DIR, the folder to write the bank into")
    cls = found[to]
    library = load_library(srcs, difficulty, topic)
    build = Build(library, {}, Highlighter(DEFAULT_THEME, DEFAULT_NIGHT_THEME), progress)
    cls().export(build, cls.Options(force=force), output)
    n_files = sum(1 for _ in library.subtopics())
    out.print(f"wrote {output}/ ({n_files} files, {library.count()} questions)", soft_wrap=True)
