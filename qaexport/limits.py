"""Bounds on what untrusted input may cost, shared by every reader: checked before the work, or counted while it
happens, so that a small hostile file can never take unbounded time or memory.

- **Images** (Anki package media, Markdown banks' images): the type comes from the bytes, the size in pixels from
  the header, before anything is decoded. An image over :data:`MAX_IMAGE_PIXELS` is downscaled when decoding it
  stays within :data:`MAX_DECODE_PIXELS` (a JPEG is decoded at a reduced scale, so almost any JPEG qualifies), else
  skipped; either way the caller warns by name. Pillow's own decompression-bomb warning never prints: nothing
  reaches Pillow's decoder above our limit.
- **Expansion**: a format whose small input can stand for a huge value (shared references in a Nuxt payload, cloze
  deletions that each make a card of the whole note) counts what it makes while it decodes, against a limit
  relative to the input's size (:class:`Expansion`), and a note's cloze cards are bounded by :func:`cloze_cards`.

Every limit is a module constant, named in the README's Safety section.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

#: Longer texts are refused: no real question or answer is this long, and layout engines choke.
MAX_QUESTION_CHARS = 5_000
MAX_ANSWER_CHARS = 200_000

#: One image, as stored (after decompression from its package).
MAX_IMAGE_BYTES = 16 * 2**20
#: All the images one build embeds.
MAX_IMAGES_TOTAL = 192 * 2**20
#: Pixels an image may have as embedded; bigger ones are downscaled to this (a 16-megapixel photo fits).
MAX_IMAGE_PIXELS = 16_000_000
#: Pixels the downscaler may decode (at 4 bytes each, 160 MiB at most at a time); bigger images are skipped.
MAX_DECODE_PIXELS = 40_000_000
#: Pixels of every image of a build together, as embedded: what the layouts may have to decode.
MAX_PIXELS_TOTAL = 400_000_000

#: Cards one note's cloze deletions may make (each card shows the whole note).
MAX_CLOZE_CARDS = 200
#: Characters one note may expand to over all its cloze cards (the note's text times its cards).
MAX_CLOZE_EXPANSION = 4_000_000

#: What decoding may make of an input: this many times its size, and at least :data:`EXPANSION_FLOOR` characters.
EXPANSION_RATIO = 8
EXPANSION_FLOOR = 32 * 2**20

#: Nesting of elements in HTML from a source (Anki cards): an HTML parser checks scopes along the open elements, so
#: every level costs each tag after it (sanitising 10,000 nested ``<div>`` took 0.4 s, 40,000 took 7 s).
MAX_HTML_NESTING = 100
_VOID_ELEMENTS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                            "source", "track", "wbr"})
#: Elements whose end tag may be left out (a new one closes the last): counted as not nesting.
_IMPLIED_END = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "tbody", "thead", "tfoot", "option", "optgroup",
                          "rp", "rt", "colgroup", "caption"})

IMAGE_TYPES = (  # magic → (mime, extension)
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)
_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


def image_type(data: bytes) -> tuple[str, str] | None:
    """(mime, extension) from magic bytes, or None: a name's extension is never trusted."""
    for magic, mime, ext in IMAGE_TYPES:
        if data.startswith(magic):
            return mime, ext
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


@dataclass(frozen=True)
class CheckedImage:
    """An image that may be embedded: its bytes (downscaled if it had to be), type and size in pixels.
    ``note`` says what was done to it ("" when nothing), for the caller's warning."""

    data: bytes
    mime: str
    ext: str
    width: int
    height: int
    note: str = ""

    @property
    def pixels(self) -> int:
        return self.width * self.height


def check_image(data: bytes) -> CheckedImage | str:
    """The image as it may be embedded, or a one-line reason it cannot be (the caller names the image).

    Sizes are read from the header before any pixel is decoded; an image too big to embed is downscaled (same
    format) when decoding it is bounded, else refused."""
    if len(data) > MAX_IMAGE_BYTES:
        return f"too large ({len(data):,} bytes; the limit is {MAX_IMAGE_BYTES:,})"
    kind = image_type(data)
    if kind is None:
        return "SVG images are not supported" if b"<svg" in data[:2048].lower() else \
            "not a PNG, JPEG, GIF or WebP image"
    mime, ext = kind
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))  # reads the header only
            width, height = image.size
        except Image.DecompressionBombError:
            return "over Pillow's own pixel limit; not decoded"
        except Exception as exc:  # damaged or truncated headers: Pillow raises many kinds
            return f"damaged ({type(exc).__name__})"
        if width < 1 or height < 1:
            return "has no pixels"
        if width * height <= MAX_IMAGE_PIXELS:
            return CheckedImage(data, mime, ext, width, height)
        return _downscaled(image, data, mime, ext, width, height)


def _downscaled(image, data: bytes, mime: str, ext: str, width: int, height: int) -> CheckedImage | str:
    """``image`` (opened, not decoded) made to fit :data:`MAX_IMAGE_PIXELS`, if decoding it stays bounded."""
    from PIL import Image

    scale = (MAX_IMAGE_PIXELS / (width * height)) ** 0.5
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    if mime == "image/jpeg":
        image.draft("RGB", size)  # JPEG decodes at 1/2, 1/4 or 1/8 scale: the decoder does the shrinking
    decoded = image.size[0] * image.size[1]
    if decoded > MAX_DECODE_PIXELS:
        return (f"{width:,}×{height:,} pixels, over the {MAX_DECODE_PIXELS:,}-pixel limit for images that "
                "can be shrunk; not shown. Resize it below "
                f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels")
    try:
        image.thumbnail(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, _PIL_FORMATS[mime], **({"quality": 90} if mime == "image/jpeg" else {}))
    except Exception as exc:  # a damaged body behind a good header
        return f"damaged ({type(exc).__name__})"
    return CheckedImage(out.getvalue(), mime, ext, image.size[0], image.size[1],
                        f"{width:,}×{height:,} pixels, over the {MAX_IMAGE_PIXELS:,}-pixel limit; shrunk to "
                        f"{image.size[0]:,}×{image.size[1]:,}")


class ImageBudget:
    """What the images of one build may cost together: bytes as stored and pixels as embedded."""

    def __init__(self, total_bytes: int | None = None, total_pixels: int | None = None) -> None:
        self.bytes_left = MAX_IMAGES_TOTAL if total_bytes is None else total_bytes
        self.pixels_left = MAX_PIXELS_TOTAL if total_pixels is None else total_pixels

    def admit(self, size: int, pixels: int) -> str:
        """"" and an image of ``size`` bytes and ``pixels`` pixels counted, or why the build's images are full."""
        if size > self.bytes_left:
            return f"the images before it fill the {MAX_IMAGES_TOTAL // 2**20} MiB allowed for all images"
        if pixels > self.pixels_left:
            return f"the images before it fill the {MAX_PIXELS_TOTAL:,} pixels allowed for all images"
        self.bytes_left -= size
        self.pixels_left -= pixels
        return ""


def cloze_cards(deletions: int, chars: int) -> int:
    """How many of a note's ``deletions`` cloze cards (each showing the note's ``chars`` characters) may be made:
    all of them when they fit :data:`MAX_CLOZE_CARDS` and :data:`MAX_CLOZE_EXPANSION`, else the first ones that
    do (at least one). The caller warns when it is fewer than asked."""
    return max(1, min(deletions, MAX_CLOZE_CARDS, MAX_CLOZE_EXPANSION // max(1, chars)))


def html_nesting(text: str, stop: int = MAX_HTML_NESTING) -> int:
    """How deeply the elements of an HTML text nest, counted in one pass over its tags (void elements and those
    whose end tag is implied do not count); counting ends once past ``stop``."""
    depth = deepest = 0
    pos = text.find("<")
    while pos != -1 and deepest <= stop:
        if text.startswith("<!--", pos):
            close = text.find("-->", pos + 4)
            pos = -1 if close == -1 else text.find("<", close + 3)
            continue
        closing = text.startswith("/", pos + 1)
        start = pos + 1 + closing
        end = start
        while end < len(text) and (text[end].isalnum() or text[end] == "-"):
            end += 1
        name = text[start:end].lower()
        if name and name[0].isalpha() and name not in _VOID_ELEMENTS and name not in _IMPLIED_END:
            if closing:
                depth = max(0, depth - 1)
            else:  # ``<div/>`` opens a div in HTML: the slash means nothing there
                depth += 1
                deepest = max(deepest, depth)
        pos = text.find("<", end)
    return deepest


class ExpansionError(ValueError):
    """Decoding an input would make far more than the input holds (shared references, a "billion laughs")."""


class Expansion:
    """A count of what decoding one input makes, refused past ``ratio`` times the input's size (and at least
    ``floor``): a real file expands little, a hostile one by orders of magnitude."""

    def __init__(self, input_size: int, why: str = "", ratio: int | None = None, floor: int | None = None) -> None:
        self.ratio = EXPANSION_RATIO if ratio is None else ratio
        self.limit = max(EXPANSION_FLOOR if floor is None else floor, self.ratio * input_size)
        self.why = why
        self.total = 0

    def check(self, size: int, what: str) -> None:
        """Raise :class:`ExpansionError` if one value of ``size`` (``what`` names it) is over the limit."""
        if size > self.limit:
            why = f" ({self.why})" if self.why else ""
            raise ExpansionError(f"{what} expands to more than {self.limit:,} characters{why}, over "
                                 f"{self.ratio} times the input's size; refusing to expand it")

    def add(self, size: int, what: str) -> None:
        """Count ``size`` more made; raise :class:`ExpansionError` once the total is over the limit."""
        self.total += size
        self.check(self.total, what)
