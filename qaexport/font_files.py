"""The font files the books are drawn with, as files: whether one is whole, which distribution owns it (to say how to
repair it), and their stamps (for the build manifest).

Why here, at the top: the books (HarfBuzz's subsetter) and the engine (WeasyPrint's layout) both meet a damaged font
file and must say the same one line about it, and the manifest must see a font file change; none of them may import
another's layer.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

from .errors import FontError

#: What an sfnt file (TrueType, OpenType, a collection) starts with.
SFNT_TAGS = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"typ1")
#: The most tables a font's directory may list (the format's 16 bits allow 65,535; fonts have ~10-30).
MAX_TABLES = 256


def damage(path: Path) -> str | None:
    """What is wrong with the font file at ``path`` as a file, read from its table directory (a few hundred bytes): not
    a font, or cut short (a table ends past the end of the file); None when every table it lists is there. HarfBuzz
    alone makes what it can of a cut file (it drops the tables it cannot read) and its subsetter then fails with no
    file named, or, asked for some characters, finds none and gives nothing: the book would be drawn in another font.
    Raises OSError when the file cannot be read."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(12)
        if head[:4] == b"ttcf":  # a collection: its first font's directory
            count = fh.read(4)
            if len(head) < 12 or len(count) < 4:
                return "is not a font (cut short)"
            fh.seek(struct.unpack(">I", count)[0])
            head = fh.read(12)
        if len(head) < 12 or head[:4] not in SFNT_TAGS:
            return "is not a font file"
        tables = struct.unpack(">H", head[4:6])[0]
        if not 0 < tables <= MAX_TABLES:
            return "is not a font file (its table directory is damaged)"
        directory = fh.read(16 * tables)
    if len(directory) < 16 * tables:
        return f"is damaged: cut short at {size:,} bytes (inside its table directory)"
    for index in range(tables):
        tag, _checksum, offset, length = struct.unpack(">4sIII", directory[16 * index:16 * index + 16])
        if offset + length > size:
            name = tag.decode("latin-1").strip()
            return f"is damaged: cut short at {size:,} bytes (its {name!r} table ends at byte {offset + length:,})"
    return None


def check(path: Path) -> None:
    """:class:`FontError` when the font file at ``path`` is damaged or not a font (:func:`damage`) or cannot be read."""
    try:
        wrong = damage(path)
    except OSError as exc:
        raise FontError(f"{path}: this font file cannot be read ({exc.strerror or exc}); nothing was written. "
                        f"{repair_hint(path)}") from None
    if wrong:
        raise damaged(path, wrong)


def damaged(path: Path, wrong: str) -> FontError:
    """The one line for the font file ``path`` that ``wrong`` (what is wrong with it): nothing written, the fix."""
    return FontError(f"{path}: this font file {wrong}; nothing was written. {repair_hint(path)}")


def owner(path: Path) -> tuple[str, str] | None:
    """The installed distribution (name, version) whose files hold ``path``, found from the top-level package
    folder it lies in below a place of the import path; None when none does. Used only to word an error."""
    from importlib.metadata import distribution, packages_distributions

    resolved = Path(os.path.abspath(path))
    for entry in sys.path:
        place = Path(os.path.abspath(entry or "."))
        try:
            top = resolved.relative_to(place).parts[0]
        except (ValueError, IndexError):
            continue
        for name in packages_distributions().get(top, []):
            try:
                found = distribution(name)
            except (ImportError, OSError, ValueError):  # PackageNotFoundError, unreadable metadata
                continue
            if any(Path(os.path.abspath(found.locate_file(f))) == resolved for f in found.files or []):
                return found.metadata["Name"], found.version
    return None


def repair_hint(path: Path) -> str:
    """How to repair the font file ``path``: reinstall the distribution that owns it (that one only, at its version,
    none of its dependencies); a file of the font store (which no distribution owns) is made again on the next run
    once deleted."""
    found = owner(path)
    if found:
        name, version = found
        return f"Reinstall its package: pip install --force-reinstall --no-deps {name}=={version}"
    if (path.parent / ".lock").exists() or (path.parent / "index.json").exists():
        return f"It is in qaexport's font store: delete it ({path}); the next run makes it again"
    return "Reinstall the package that installed it"


def stamps(paths: list[Path]) -> dict[str, str]:
    """Each file's stamp (size, modification time, inode: a stat, no reading), "absent" for one that is not there:
    a font file replaced, cut short or restored has another stamp."""
    out = {}
    for path in paths:
        try:
            info = os.stat(path)
            out[str(path)] = f"{info.st_size} {info.st_mtime_ns} {info.st_ino}"
        except OSError:
            out[str(path)] = "absent"
    return out
