"""Fonts for the PDF: the symbol, emoji and script faces WeasyPrint falls back to, and what nothing covers.

Servers and CI images often have only DejaVu and Liberation, so ✅, ❌, 🐍 or Thai print as empty boxes. The
``manimgx-fonts`` package ships Noto Sans Symbols, the monochrome Noto Emoji (vector outlines: sharp on paper,
readable in grayscale, and a text extractor reads the characters back) and Noto Sans for other scripts, all under
the OFL. The PDF names those files with ``@font-face``; they are the only files its layout may read
(:class:`FontFetcher`). CJK is not in the package (about 100 MiB): a missing glyph becomes one warning naming the
characters, the questions that hold them and the system package that adds them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ..model import Library

FONT_PACKAGE = "manimgx_fonts"

#: Family names in the font stacks; prefixed so no system font shadows them. Every file gets its own family:
#: WeasyPrint tells embedded fonts apart by family, so two files under one name mix up their glyphs.
SYMBOLS, EMOJI = "qaexport Symbols", "qaexport Emoji"
#: The CSS custom property templates/pdf/book.css puts after DejaVu in every stack.
FALLBACK_VAR = "--qaexport-fallback"

CJK_PACKAGE = "fonts-noto-cjk"
OTHER_PACKAGE = "fonts-noto-core"


@dataclass(frozen=True)
class FontFace:
    family: str
    path: Path

    @property
    def uri(self) -> str:
        return self.path.as_uri()


@cache
def font_faces() -> tuple[FontFace, ...]:
    """The package's faces in fallback order: symbols, emoji, then every script face."""
    folder = Path(str(resources.files(FONT_PACKAGE)))
    faces = [FontFace(SYMBOLS, folder / "NotoSansSymbols[wght].ttf"), FontFace(EMOJI, folder / "NotoEmoji[wght].ttf")]
    for path in sorted(folder.glob("NotoSans?*[[]wght[]].ttf")):
        if path.name != "NotoSansSymbols[wght].ttf" and "Italic" not in path.name:
            faces.append(FontFace("qaexport " + path.name.split("[")[0].removeprefix("NotoSans"), path))
    return tuple(faces)


def font_face_css() -> str:
    """``@font-face`` rules naming the package files by ``file:`` URL (served by the font fetcher only), and the
    fallback list the stylesheet's stacks use."""
    faces = font_faces()
    rules = [f'@font-face {{ font-family: "{face.family}"; src: url("{face.uri}"); }}' for face in faces]
    rules.append(f":root {{ {FALLBACK_VAR}: {', '.join(f'{face.family!r}' for face in faces)}; }}")
    return "\n".join(rules) + "\n"


def _is_cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "HALFWIDTH",
                            "FULLWIDTH", "KANGXI"))


def missing_glyphs_warning(missing: Iterable[str], library: Library, title: str = "", limit: int = 5) -> str | None:
    """One line: the characters no font drew, the questions (keys) holding them, and the package that adds them."""
    chars = sorted(set(missing))
    if not chars:
        return None
    wanted = set(chars)
    keys = []
    for ref in library.questions():
        q = ref.question
        text = " ".join((q.question, q.answer, ref.framework.name, ref.topic.name, ref.subtopic.name))
        if wanted & set(text):
            keys.append(q.key)
    shown = " ".join(chars[:20]) + (f" and {len(chars) - 20} more" if len(chars) > 20 else "")
    codes = ", ".join(f"U+{ord(c):04X}" for c in chars[:5]) + (", …" if len(chars) > 5 else "")
    where = ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")
    if not keys:
        where = "the title" if wanted & set(title) else "the booklet"
    packages = []
    if any(_is_cjk(c) for c in chars):
        packages.append(CJK_PACKAGE)
    if any(not _is_cjk(c) for c in chars):
        packages.append(OTHER_PACKAGE)
    return (f"PDF: no installed font has {shown} ({codes}) in {where}; they print as empty boxes. "
            f"Install {' and '.join(packages)} (apt-get install) or another font that covers them, then rebuild")
