"""``qaexport convert``: rewrite any source as a source format you can edit (today: a Markdown bank).

Conversion works from the source texts (``Scheme.NONE``), so nothing is rendered: it reads,
merges and filters like every command, then hands the library to a folder-producing exporter
that ``qaexport all`` leaves out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import exporters
from ..errors import UsageError
from ..exporters import Build, Produces
from ..output import file_in_the_way, not_a_folder, watch_writes
from ..render import DEFAULT_NIGHT_THEME, DEFAULT_THEME, Scheme
from .common import (
    ConfigOpt,
    DifficultyOpt,
    Sources,
    TopicOpt,
    build_time,
    err,
    handle_errors,
    load_library,
    load_settings,
    plural,
    progress,
    reader_options,
    refuse_writing_into_sources,
    say,
    source_paths,
)


def targets() -> dict[str, type]:
    """Exporters that write a source format: a folder, from the texts, not part of ``qaexport all``."""
    return {name: cls for name, cls in exporters.registry.load().items()
            if cls.produces == Produces.FOLDER and cls.scheme == Scheme.NONE and not cls.in_all}


@handle_errors
def convert_cmd(
    ctx: typer.Context,
    srcs: Sources = None,
    to: Annotated[str, typer.Option("--to", metavar="FORMAT", help="Format to write: markdown.")] = "markdown",
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="DIR", show_default=False,
                                               help="Folder to write the bank into (new or empty).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder, overwriting only the "
                                                        "bank's own files; nothing is deleted.")] = False,
    difficulty: DifficultyOpt = None,
    topic: TopicOpt = None,
    config: ConfigOpt = None,
    **values: Any,
) -> None:
    """Convert SOURCES (payloads, Markdown banks, any installed source) into a Markdown bank to edit in git.

    Writes DIR/<framework>/<topic>/NN-<subtopic>.md with every id and slug spelled out; building any
    format from DIR gives the same Anki notes and books as building from SOURCES, and converting DIR
    again gives the same bytes.

    Example: qaexport convert data/ --to markdown -o bank/
    """
    found = targets()
    if to not in found:
        raise UsageError(f"--to {to!r}: can convert to {', '.join(found) or 'nothing (no converter installed)'}")
    if output is None:
        raise UsageError("convert needs -o DIR, the folder to write the bank into")
    if output == "":  # Path("") is the working folder
        raise UsageError("-o '': the path is empty; name the folder to write the bank into (e.g. -o bank/)")
    folder = Path(output)
    blocking = file_in_the_way(folder / "bank")  # a file where the folder (or one holding it) must be
    if blocking is not None:
        raise UsageError(f"-o {output}: {not_a_folder(blocking)}")
    now = build_time()
    cls = found[to]
    settings = load_settings(config, defer=True)  # SOURCES and reader options (`[apkg] all_cards`) may come from it
    readers = reader_options(ctx, values, settings)  # every problem of the file raised here, at once
    paths = srcs or settings.top.get("sources") or source_paths(None)
    refuse_writing_into_sources("-o", folder, paths)
    library = load_library(paths, difficulty, topic, readers)
    from ..render import Highlighter  # Pygments: only when converting, not when any command starts

    build = Build(library, {}, Highlighter(DEFAULT_THEME, DEFAULT_NIGHT_THEME), now, progress,
                  lambda message: err.print(f"warning: {message}", soft_wrap=True, emoji=False, markup=False))
    with watch_writes() as written:
        cls().export(build, cls.Options(force=force), folder)
    inside = os.path.join(os.path.abspath(folder), "")  # the files written, images too: not the subtopics (trial11 #4)
    n_files = sum(1 for path in written if path.startswith(inside))
    say(f"wrote {folder}/ ({plural(n_files, 'file')}, {plural(library.count(), 'question')})")
