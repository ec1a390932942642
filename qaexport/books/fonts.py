"""The books' fonts, all from pinned Python packages: the same glyphs on every machine, none from the system.

Text is Noto Serif and Noto Sans, code JetBrains Mono (``fontpkg-noto-serif``, ``fontpkg-noto-sans``,
``fontpkg-jetbrains-mono``: the upstream variable files, unmodified, OFL). Symbols, emoji and other scripts come
from ``manimgx-fonts``: Noto Sans Symbols, the monochrome Noto Emoji (vector outlines: sharp on paper, readable in
grayscale, and a text extractor reads the characters back) and Noto Sans for 19 scripts (OFL). A book built
with no system font at all (an empty fontconfig) prints every glyph of such text. The PDF and the cards name
these files with ``@font-face`` (the only files their layout may read), the text faces, symbols and emoji as
static regular and bold files made from them once per installation (:mod:`qaexport.books.instances`); the EPUB
embeds them subsetted to the characters it holds (:func:`subset_font`, HarfBuzz's subsetter). CJK is not bundled
(about 100 MiB): a missing glyph becomes one warning naming the characters, the questions that hold them and the
system package that adds them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ..model import Library

FONT_PACKAGE = "manimgx_fonts"
#: The text faces: (family in the stylesheets, family in its fontpkg package). Prefixed so no system font
#: shadows them; each has an upright and an italic file, every weight in one variable file.
SERIF, SANS, MONO = "qaexport Serif", "qaexport Sans", "qaexport Mono"
TEXT_FAMILIES = ((SERIF, "Noto Serif"), (SANS, "Noto Sans"), (MONO, "JetBrains Mono"))
#: Every glyph of the mono face (JetBrains Mono) is this wide, in ems (600 of its 1000 units): how many
#: characters a code line holds on paper (see books.html.code_lines).
MONO_ADVANCE_EM = 0.6

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
    style: str = "normal"
    weights: str = ""  # "100 900" for a variable text face: every weight from the one file

    @property
    def uri(self) -> str:
        return self.path.as_uri()


@cache
def text_faces() -> tuple[FontFace, ...]:
    """Serif, sans and mono, each upright and italic, from their font packages: found through fontpkg's API once per
    installation, then through the font store's index of them while their files are unchanged (a few stats:
    :func:`~qaexport.books.instances.known_text_faces`)."""
    from .instances import known_text_faces, remember_text_faces

    found = known_text_faces()
    faces = None if found is None else tuple(FontFace(face["family"], Path(face["path"]), face["style"],
                                                      face["weights"]) for face in found)
    if faces is None or not _every_text_face(faces):
        faces = _packaged_text_faces()
        remember_text_faces(faces)
    return faces


def _every_text_face(faces: tuple[FontFace, ...]) -> bool:
    """Whether ``faces`` are each text family once upright and once italic, each with a weight range (what an index
    read back must hold: it is read as untrusted, and a face's fields go into stylesheets)."""
    return (sorted((face.family, face.style) for face in faces)
            == sorted((family, style) for family, _ in TEXT_FAMILIES for style in ("normal", "italic"))
            and all(re.fullmatch(r"\d+ \d+", face.weights) for face in faces))


def _packaged_text_faces() -> tuple[FontFace, ...]:
    """:func:`text_faces` through fontpkg's API (it reads every installed distribution's entry points)."""
    import fontpkg

    faces = []
    for family, packaged in TEXT_FAMILIES:
        for style in ("normal", "italic"):
            path = fontpkg.path(packaged, 400, style)
            weights = fontpkg.family(packaged).axes
            low, high = next(((a.min, a.max) for a in weights if a.tag == "wght"), (400, 400))
            faces.append(FontFace(family, Path(path), style, f"{int(low)} {int(high)}"))
    return tuple(faces)


#: The fallback faces the print layouts also name as static files per weight (``print_fallback_faces``): the two
#: a book most often draws with (arrows, check and cross marks). WeasyPrint instantiated each one a document drew
#: with, with fontTools, in every document: its instancer's import and run were ~6 % of a 560 book's part's CPU,
#: and ~15 MiB of the part's memory at its end (docs/benchmarks.md, "PDF 560: what the code costs").
STATIC_FALLBACKS = (SYMBOLS, EMOJI)


def print_text_faces() -> tuple[FontFace, ...]:
    """The text faces the print layouts (PDF, cards) name: one static file per face and weight the stylesheets use
    (:mod:`qaexport.books.instances`), so WeasyPrint does not instantiate a variable font in every document. Found
    through the store's index when its files are unchanged (a few stats), else through the font packages and the
    files' digests (~0.05 s of CPU), then recorded there."""
    from .instances import store_folder

    return tuple(face for face in _print_faces(store_folder()) if face.family not in STATIC_FALLBACKS)


def print_fallback_faces() -> tuple[FontFace, ...]:
    """:func:`fallback_faces` as the print layouts name them: :data:`STATIC_FALLBACKS` as a static file per weight from
    the store (made with the text faces', :func:`_print_faces`), the others variable."""
    from .instances import store_folder

    made = _print_faces(store_folder())
    static = {family: tuple(face for face in made if face.family == family) for family in STATIC_FALLBACKS}
    return tuple(face for variable in fallback_faces() for face in (static.get(variable.family) or (variable,)))


@cache
def _print_faces(folder: Path) -> tuple[FontFace, ...]:
    """The static faces of the store ``folder``: the text faces' and :data:`STATIC_FALLBACKS`' (once per process and
    store; one call of ``static_faces``, so that the store keeps all of them). An index recorded before the fallbacks
    were made static (the text faces only) is not used: they are found the slow way and recorded again."""
    from .instances import known_faces, remember, static_faces

    found = known_faces(folder)
    if found is not None and STATIC_FALLBACKS[-1] in {face.get("family") for face in found}:
        return tuple(FontFace(face["family"], Path(face["path"]), face["style"], face["weights"]) for face in found)
    sources = text_faces() + tuple(face for face in fallback_faces() if face.family in STATIC_FALLBACKS)
    faces = static_faces(sources, folder)
    remember(faces, sources, folder)
    return faces


@cache
def font_faces() -> tuple[FontFace, ...]:
    """Every face the print layouts name: the text faces (:func:`print_text_faces`), then the fallbacks (symbols,
    emoji, then every script face: :func:`print_fallback_faces`)."""
    return print_text_faces() + print_fallback_faces()


@cache
def fallback_faces() -> tuple[FontFace, ...]:
    """The fallback faces in order: symbols, emoji, then every script face."""
    folder = Path(str(resources.files(FONT_PACKAGE)))
    faces = [FontFace(SYMBOLS, folder / "NotoSansSymbols[wght].ttf"), FontFace(EMOJI, folder / "NotoEmoji[wght].ttf")]
    for path in sorted(folder.glob("NotoSans?*[[]wght[]].ttf")):
        if path.name != "NotoSansSymbols[wght].ttf" and "Italic" not in path.name:
            faces.append(FontFace("qaexport " + path.name.split("[")[0].removeprefix("NotoSans"), path))
    return tuple(faces)


def package_font_files() -> list[Path]:
    """Every font package file a book may be drawn from: the variable text faces (the EPUB cuts them, the font store
    makes the print layouts' static faces from them) and the fallback faces. A build manifest records their stamps
    (:func:`font_files_state`): a font package damaged, upgraded in place or repaired
    changes what a book holds."""
    return [face.path for face in (*text_faces(), *fallback_faces())]


def font_files_state(_state_dir: Path | None = None) -> str:
    """The print and e-book exporters' outside state (:meth:`~qaexport.exporters.ExporterBase.outside_state`): the
    stamps of :func:`package_font_files` (size, modification time, inode: a stat each; hashing ~30 MiB of fonts at
    every run would cost more than the check saves), which a build manifest compares between builds."""
    from ..font_files import stamps

    return json.dumps(stamps(package_font_files()), sort_keys=True)


def font_face_css(faces: tuple[FontFace, ...] | None = None) -> str:
    """``@font-face`` rules naming the package files by ``file:`` URL (served by the font fetcher only), and the
    fallback list the stylesheet's stacks use; of ``faces`` (every face by default)."""
    return face_rules(font_faces() if faces is None else faces, lambda face: face.uri)


#: Characters every text face (serif, sans and mono, upright and italic) has a glyph for — printable ASCII,
#: Latin-1, Latin Extended-A but its "IJ", the common punctuation — and the line break (tests/test_fonts.py checks
#: each face).
EVERY_TEXT_FACE_HAS = frozenset(
    "\n" + "".join(map(chr, [*range(0x20, 0x7F), *range(0xA0, 0x132), *range(0x134, 0x180)])) + "‐–—‘’‚“”„†‡•…‰‹›")


def faces_for(text: str) -> tuple[FontFace, ...]:
    """The faces a document of ``text`` (its HTML and stylesheet) can draw with: the text faces, and of the fallback
    faces, in order, each that is the first to have one of its characters no text face is sure to have
    (:data:`EVERY_TEXT_FACE_HAS`). A character falls back to the first face in the stack that has it, so the faces
    left out are never drawn with: the pages are the same bytes. Each face named is a font file WeasyPrint reads,
    copies and registers with fontconfig at every run: the 21 fallback faces were a tenth of a small book's run."""
    needed = set(text) - EVERY_TEXT_FACE_HAS
    kept = set()
    for face in fallback_faces():
        if not needed:
            break
        found = needed & covered(face)
        if found:
            kept.add(face.family)
            needed -= found
    return print_text_faces() + tuple(face for face in print_fallback_faces() if face.family in kept)


def face_rules(faces: Iterable[FontFace], url: Callable[[FontFace], str]) -> str:
    """``@font-face`` rules for ``faces`` (their files at ``url(face)``), and the fallback list the stylesheets'
    stacks end with."""
    faces = list(faces)
    rules = []
    for face in faces:
        weight = f" font-weight: {face.weights};" if face.weights else ""
        style = f" font-style: {face.style};" if face.style != "normal" else ""
        rules.append(f'@font-face {{ font-family: "{face.family}"; src: url("{url(face)}");{weight}{style} }}')
    # Without fallback faces (faces_for), the stacks' fallback is the serif face again: a value the stacks stay valid
    # with, never reached (each character is in the face before it).
    fallbacks = list(dict.fromkeys(face.family for face in faces if face.family not in (SERIF, SANS, MONO))) or [SERIF]
    rules.append(f":root {{ {FALLBACK_VAR}: {', '.join(f'{family!r}' for family in fallbacks)}; }}")
    return "\n".join(rules) + "\n"


@cache
def covered(face: FontFace) -> frozenset[str]:
    """The characters ``face`` has a glyph for (its character map, read by HarfBuzz: a fifth of the time fontTools
    took, with its import, in an EPUB's run)."""
    import uharfbuzz as hb

    return frozenset(map(chr, hb.Face(hb.Blob.from_file_path(str(face.path))).unicodes))


#: The weights an EPUB embeds, each as a fixed (static) font: readers that do not read variable fonts (many
#: e-readers) still draw regular and bold text, and each file holds one weight's outlines, not every weight's.
STATIC_WEIGHTS = (400, 700)


def subset_font(face: FontFace, chars: Iterable[str], weight: int | None = None, layout: bool = True) -> bytes | None:
    """``face`` cut down to the glyphs of ``chars`` (with what shaping them needs: ligatures, marks, variations),
    or None when it has none of them; with ``weight``, a variable face becomes a fixed one of that weight (its
    other axes at their defaults). The same characters give the same bytes.

    ``layout=False`` leaves out the OpenType layout tables (kerning, ligatures, mark positions): the files are
    smaller, and Latin, Greek and Cyrillic text and code read well without them (code is better without JetBrains
    Mono's ligatures). Scripts that need shaping keep them. HarfBuzz's subsetter (:func:`instances.cut`) makes
    each file in about a millisecond, where fontTools' subsetter and instancer took 0.05-0.2 s."""
    from .instances import cut

    return cut(face.path, set(chars), weight, layout)


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
