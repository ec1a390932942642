"""The stylesheet and font files of the last booklet laid out in a started layout process, kept in one small file in
the cache folder: the next run's started process (``weasy.warm``) parses that stylesheet and registers its fonts while
it waits for its job, instead of after the job arrives.

Why: in the author's loop (a small bank to a PDF after an edit) the layout process is started as the command begins
and waits, WeasyPrint imported, while this process reads and renders; the job it is then sent begins with the
stylesheet and its ``@font-face`` rules (~0.065 s of CPU under load: the CSS parse, each face file copied for
fontconfig and registered), and that stylesheet is the same after an edit: the book's CSS, and the faces its text can
use (``books.fonts.faces_for``), which an edit seldom changes. Parsed while the process would otherwise wait, the job
is that much shorter.

It is only a guess, checked before it is used (``layout._setup``): the job's stylesheet text and font files must be
the very ones parsed, and every font file must have the stamp (size, modification time, inode) it had before it was
read; anything else (another book, another theme, a face added, a font file made again) parses the job's own, as
before. So the PDF is the same bytes either way. The file is at most :data:`MAX_BYTES`; anything wrong with it is no
guess, never an error. ``--no-cache`` neither reads nor writes it.
"""

from __future__ import annotations

from pathlib import Path

#: The one file, in the cache folder (beside the manifests' folder and ``last-pdf-run.json``).
NAME = "last-pdf-setup.json"
#: A larger file is neither read nor written (a booklet's stylesheet with its faces is ~20 KiB).
MAX_BYTES = 2**20


def recall(folder: Path) -> tuple[str, dict[str, Path]] | None:
    """The stylesheet and font files kept in the cache ``folder``, or None (none kept, or anything wrong with it)."""
    from ..hint_files import read_json

    kept = read_json(folder / NAME, MAX_BYTES)
    if not isinstance(kept, dict):
        return None
    css, files = kept.get("css"), kept.get("files")
    if not isinstance(css, str) or not isinstance(files, dict) \
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return None
    return css, {url: Path(path) for url, path in files.items()}


def remember(folder: Path, css: str, files: dict[str, Path]) -> None:
    """Keep ``css`` and ``files`` in the cache ``folder`` for the next run (written only when they differ from what
    is kept). A folder that cannot be written only means no guess next time."""
    from ..hint_files import write_json

    write_json(folder / NAME, {"css": css, "files": {url: str(path) for url, path in files.items()}}, MAX_BYTES)
