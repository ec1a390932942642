"""Fixed-weight (static) fonts made from the variable text faces with HarfBuzz's subsetter (``uharfbuzz``).

Why: WeasyPrint turns every variable font it embeds into a static one with fontTools, in every document it
writes (about 0.2 s of a small booklet, and again in each of the flashcards' measuring documents), and the EPUB
made its fixed regular and bold files the same way (fontTools' subsetter and instancer: about half of its run).
HarfBuzz pins the axes and cuts a face down in milliseconds, with the same outlines and advances.

The print layouts (PDF, cards) name one static file per text face and weight the stylesheets use
(:data:`WEIGHTS`), so WeasyPrint has nothing to instantiate. Making the 12 files takes about a second of CPU,
so they are made once per installation and kept in a store (:func:`store_folder`: ``QAEXPORT_FONT_DIR``, else
``fonts/`` in the user's cache folder — not the render cache: emptying that does not empty this). Each file's
name holds the key of what it was made from (the source file's digest, HarfBuzz's version, :data:`VERSION`, the
weight) and the digest of its own bytes: a file whose bytes do not match its name (cut short, damaged) is made
again; files are written through :func:`qaexport.output.atomic_path` (never half-written).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

#: The weights the stylesheets draw text with: normal (400) and ``bold`` (700: headings, ``b``/``strong``/``th`` in
#: WeasyPrint's own stylesheet, the booklet's and the cards' bold rules, Pygments' bold tokens). No stylesheet says
#: ``bolder``/``lighter`` or another number (tests/test_fonts.py checks the stylesheets).
WEIGHTS = (400, 700)
#: Bump when the way the files are made changes (their names change: the old files are no longer found).
VERSION = 1


#: Where the CLI found the store (``QAEXPORT_FONT_DIR``, read at the edge: :func:`use_store`); None: the default.
_chosen: Path | None = None


def use_store(folder: Path | None) -> None:
    """The store this process keeps its instances in, as the CLI read it (None: :func:`store_folder`'s default).
    Set once before any layout; forked children inherit it."""
    global _chosen
    _chosen = folder
    static_faces.cache_clear()


def store_folder() -> Path:
    """Where the static instances are kept: the folder :func:`use_store` was given, else ``fonts`` in the user's
    cache folder."""
    if _chosen is not None:
        return _chosen
    from platformdirs import user_cache_path

    return user_cache_path("qaexport", appauthor=False) / "fonts"


def cut(path: Path, chars: set[str] | None = None, weight: int | None = None, layout: bool = True) -> bytes | None:
    """The font at ``path`` cut down to the glyphs of ``chars`` (every glyph when None), with what shaping them
    needs (every layout feature, every name); with ``weight``, every axis pinned (``wght`` at ``weight`` within
    its range, the others at their defaults): a static font. ``layout=False`` drops GSUB/GPOS/GDEF. None when the
    font has none of ``chars``. The same input gives the same bytes."""
    import uharfbuzz as hb

    face = hb.Face(hb.Blob.from_file_path(str(path)))
    given = hb.SubsetInput()
    if chars is None:
        given.keep_everything()
    else:
        unicodes = {ord(c) for c in chars} & set(face.unicodes)
        if not unicodes:
            return None
        given.unicode_set.update(unicodes)
        given.layout_feature_tag_set.clear()
        given.layout_feature_tag_set.invert()
        given.name_id_set.clear()
        given.name_id_set.invert()
        given.flags = hb.SubsetFlags.NOTDEF_OUTLINE
    if not layout:
        for table in ("GSUB", "GPOS", "GDEF"):
            given.drop_table_tag_set.add(int.from_bytes(table.encode(), "big"))
    if weight is not None and face.axis_infos:
        given.pin_all_axes_to_default(face)
        for axis in face.axis_infos:
            if axis.tag == "wght":
                given.pin_axis_location(face, "wght", min(max(weight, axis.min_value), axis.max_value))
    made = hb.subset(face, given)
    if made is None:
        raise ValueError(f"{path.name}: HarfBuzz could not subset this font")
    return made.blob.data


def _tool_version() -> str:
    import uharfbuzz as hb

    return f"qaexport-instances-{VERSION} uharfbuzz-{hb.__version__} harfbuzz-{hb.version_string()}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def instance(source: Path, weight: int, folder: Path) -> Path:
    """The static instance of the variable font ``source`` at ``weight`` in the store ``folder``: found when a file
    of this key is there and its bytes match its name, else made and written (atomically) first."""
    with open(source, "rb") as file:
        key = _digest(f"{_tool_version()}\0".encode() + hashlib.file_digest(file, "sha256").digest())
    stem = f"{source.stem.split('[')[0]}-{weight}-{key}"
    for found in sorted(folder.glob(f"{stem}-*.ttf")):
        try:
            if _digest(found.read_bytes()) == found.stem.rsplit("-", 1)[1]:
                return found
        except OSError:
            pass
    data = cut(source, None, weight)
    assert data is not None  # every glyph was asked for
    target = folder / f"{stem}-{_digest(data)}.ttf"
    from ..output import atomic_path

    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    for found in folder.glob(f"{stem}-*.ttf"):  # a damaged file of the same key: replaced by the one just made
        if found != target:
            found.unlink(missing_ok=True)
    return target


@cache
def static_faces(faces: tuple, folder: Path | None = None) -> tuple:
    """The variable text ``faces`` (:func:`qaexport.books.fonts.text_faces`, passed in: this module sits under
    :mod:`~qaexport.books.fonts`) as one static file per face and weight of :data:`WEIGHTS`, from the store (made
    there on first use); ``folder`` defaults to :func:`store_folder`."""
    from dataclasses import replace

    from ..errors import OutputError

    folder = store_folder() if folder is None else folder
    try:
        return tuple(replace(face, path=instance(face.path, weight, folder), weights=str(weight))
                     for face in faces for weight in WEIGHTS)
    except OutputError:  # the store cannot be written: the variable faces draw the same text, WeasyPrint instancing
        return faces
