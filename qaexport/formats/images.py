"""What an image qaexport embeds may be: the one place for image types, limits and SVG sanitising.

Every route that brings an image in — a Markdown bank's ``![alt](path)`` and cover, an Anki package's media —
goes through :func:`accept`, so the rules are the same everywhere:

* The type comes from the bytes (magic numbers), never from a file name: PNG, JPEG, GIF, WebP, and SVG.
* Size limits are checked before any work: at most :data:`MAX_IMAGE_BYTES` per image (the caller checks the
  file size before reading it), at most :data:`MAX_PIXELS` per raster image (read from the header by Pillow,
  nothing is decoded; Pillow's own decompression-bomb warning never prints). A bigger image is shrunk to fit
  (same format) when decoding it stays bounded (:data:`MAX_DECODE_PIXELS`; a JPEG is decoded at a reduced scale,
  so almost any JPEG qualifies), else refused. All images of a build share :class:`ImageBudget`:
  :data:`MAX_IMAGES_TOTAL` bytes and :data:`MAX_PIXELS_TOTAL` pixels.
* SVG is parsed without entities, DTDs or network (lxml) and rebuilt from an allow-list: drawing elements and
  presentation attributes only, references only to ``#fragments`` inside the file; no script, no event
  handler, no ``foreignObject``, no external image, font or stylesheet. What survives cannot run or fetch.
* An accepted image is :class:`~qaexport.model.Media` named by its content (``<sha256[:16]><ext>``): the same
  image from two files is stored once, and an Anki collection that already has it is not sent it again.

A refused image is never an error of the build: the caller warns (naming the file and line) and leaves the
image out, so one huge or broken image does not stop the others.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from ..errors import clause
from ..limits import mib
from ..model import Media

#: One image, as stored (bigger ones are refused before they are read).
MAX_IMAGE_BYTES = 16 * 2**20
#: All images a build embeds together.
MAX_IMAGES_TOTAL = 192 * 2**20
#: Pixels of one raster image (width × height): decoding costs ~4 bytes a pixel, so this bounds the memory a
#: layout engine or a phone spends on one image (160 MB), far above any photo a card needs.
MAX_PIXELS = 40_000_000
#: Pixels the shrinking may decode (4 bytes each: 240 MB at most, once, in the reading process); a bigger image
#: is refused rather than shrunk.
MAX_DECODE_PIXELS = 60_000_000
#: Pixels of all the raster images of a build, as embedded: what the layouts may have to decode.
MAX_PIXELS_TOTAL = 400_000_000
_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
#: Elements of one SVG: real diagrams hold thousands; a hostile one cannot make the layout draw millions.
MAX_SVG_ELEMENTS = 50_000

RASTER_TYPES = (  # magic → (mime, extension)
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)
SVG_MIME, SVG_EXT = "image/svg+xml", ".svg"
#: File name extensions of the images a bank may name (the bytes decide the type; this only guides messages).
EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})


def raster_type(data: bytes) -> tuple[str, str] | None:
    """(mime, extension) of a PNG, JPEG, GIF or WebP from its magic bytes, or None."""
    for magic, mime, ext in RASTER_TYPES:
        if data.startswith(magic):
            return mime, ext
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in data[:65536].lower()


def content_name(data: bytes, ext: str) -> str:
    return hashlib.sha256(data).hexdigest()[:16] + ext


@dataclass(frozen=True)
class Refused:
    """Why an image was left out: one clause, read after the image's name ("image x.png: …")."""

    reason: str

    def __str__(self) -> str:
        return self.reason


def accept(data: bytes, notes: list[str] | None = None) -> Media | Refused:
    """The image as content-addressed media, or why it is refused. ``data`` is at most MAX_IMAGE_BYTES
    (callers check the size before reading); nothing here decodes pixels, unless the image is over
    :data:`MAX_PIXELS` and can be shrunk within :data:`MAX_DECODE_PIXELS`: then it is, and ``notes`` gets a clause
    saying so (for the caller's warning)."""
    if len(data) > MAX_IMAGE_BYTES:
        return Refused(f"{mib(len(data))}, over the {mib(MAX_IMAGE_BYTES)} limit for one image")
    if not data:
        return Refused("the file is empty")
    kind = raster_type(data)
    if kind is not None:
        mime, ext = kind
        size = _pixels(data)
        if isinstance(size, Refused):
            return size
        width, height = size
        if width * height > MAX_PIXELS:
            shrunk = _shrunk(data, mime, width, height)
            if isinstance(shrunk, Refused):
                return shrunk
            data, (new_width, new_height) = shrunk
            if notes is not None:
                notes.append(f"{width:,}×{height:,} pixels, over the {MAX_PIXELS // 1_000_000} megapixel limit; "
                             f"shrunk to {new_width:,}×{new_height:,}")
            width, height = new_width, new_height
        else:
            damaged = _undecodable(data)
            if damaged is not None:
                return damaged
        return Media(content_name(data, ext), data, mime, width * height)
    if looks_like_svg(data):
        clean = sanitize_svg(data)
        if isinstance(clean, Refused):
            return clean
        return Media(content_name(clean, SVG_EXT), clean, SVG_MIME)
    return Refused("not a PNG, JPEG, GIF, WebP or SVG image")


def _pixels(data: bytes) -> tuple[int, int] | Refused:
    """Width and height from the header (Pillow reads no pixel data for this)."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():  # its bomb warning would print: the size is checked here, against our limit
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.size
        except Image.DecompressionBombError:
            return Refused(f"over Pillow's own pixel limit ({Image.MAX_IMAGE_PIXELS * 2:,}); not decoded")
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            return Refused(f"damaged image ({type(exc).__name__})")


_TRUNCATED_LOCK = threading.Lock()


def _undecodable(data: bytes) -> Refused | None:
    """Why the pixels behind a good header do not decode (cut short, corrupt), or None. Decoded whole, within
    :data:`MAX_PIXELS` (the caller checked the header): a layout engine draws such an image as a black or empty
    square without a word (trial10 #14), so it is left out here, with the warning, instead."""
    from PIL import Image, ImageFile

    with warnings.catch_warnings(), _TRUNCATED_LOCK:
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import (weasyprint/images.py), and a
        # reader shares a process with it: with it on, a cut image decodes "fine" (grey or black rows). Off for
        # this decode only; the lock keeps two checks from restoring each other's value.
        truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, zlib.error… for a damaged body
            return Refused(f"damaged image: its pixel data does not decode ({clause(str(exc) or type(exc).__name__)});"
                           " save it again from the original")
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
    return None


def _shrunk(data: bytes, mime: str, width: int, height: int) -> tuple[bytes, tuple[int, int]] | Refused:
    """The image made to fit :data:`MAX_PIXELS`, in its own format, if decoding it stays within
    :data:`MAX_DECODE_PIXELS` (a JPEG decodes at 1/2, 1/4 or 1/8 scale: the decoder does the shrinking)."""
    from PIL import Image

    scale = (MAX_PIXELS / (width * height)) ** 0.5
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                if mime == "image/jpeg":
                    image.draft("RGB", size)
                if image.size[0] * image.size[1] > MAX_DECODE_PIXELS:
                    return Refused(f"{width:,}×{height:,} pixels, over the {MAX_PIXELS // 1_000_000} megapixel limit "
                                   "and too big to shrink; scale it down")
                image.thumbnail(size, Image.Resampling.LANCZOS)
                out = io.BytesIO()
                image.save(out, _PIL_FORMATS[mime], **({"quality": 90} if mime == "image/jpeg" else {}))
                return out.getvalue(), image.size
        except Exception as exc:  # a damaged body behind a good header: Pillow raises many kinds
            return Refused(f"damaged image ({type(exc).__name__})")


class ImageBudget:
    """What the images of one build may cost together: bytes as stored and pixels as embedded. Each reader keeps
    one while it reads (bounded memory), and assemble one for the whole build."""

    def __init__(self, total_bytes: int | None = None, total_pixels: int | None = None) -> None:
        self.bytes_left = MAX_IMAGES_TOTAL if total_bytes is None else total_bytes
        self.pixels_left = MAX_PIXELS_TOTAL if total_pixels is None else total_pixels

    def admit(self, size: int, pixels: int) -> str:
        """"" and an image of ``size`` bytes and ``pixels`` pixels counted, or why the build's images are full."""
        if size > self.bytes_left:
            return f"the images before it fill the {mib(MAX_IMAGES_TOTAL)} allowed for all images"
        if pixels > self.pixels_left:
            return f"the images before it fill the {MAX_PIXELS_TOTAL:,} pixels allowed for all images"
        self.bytes_left -= size
        self.pixels_left -= pixels
        return ""


# ---------------------------------------------------------------------------------------------- SVG

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
#: Drawing, structure, gradient, text and description elements: everything a diagram needs, nothing active.
SVG_ELEMENTS = frozenset({
    "svg", "g", "defs", "symbol", "use", "title", "desc", "metadata", "path", "rect", "circle", "ellipse", "line",
    "polyline", "polygon", "text", "tspan", "textPath", "linearGradient", "radialGradient", "stop", "pattern",
    "clipPath", "mask", "marker", "filter", "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite",
    "feFlood", "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology", "feOffset", "feFuncR", "feFuncG",
    "feFuncB", "feFuncA", "switch", "style",
})
#: Elements that put something on the page: an SVG left without any (everything else was stripped) would print
#: as an empty box, so it is refused instead (trial10 #14).
_DRAWN = frozenset({"path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "use"})
#: Attributes that may never be kept, whatever element they are on (besides every ``on*`` handler).
_BANNED_ATTRIBUTES = frozenset({"src", "action", "formaction", "srcset", "ping", "download"})
_REFERENCE_ATTRIBUTES = frozenset({"href", f"{{{XLINK_NS}}}href"})
#: ``url(...)`` that points anywhere but a fragment of this file, and CSS that loads or runs things.
_EXTERNAL_URL = re.compile(r"url\s*\(\s*(?!['\"]?\s*#)", re.I)
_ACTIVE_CSS = re.compile(r"@import|expression\s*\(|javascript:|behavior\s*:|-moz-binding", re.I)


def _local_name(tag: object) -> str | None:
    if not isinstance(tag, str) or not tag.startswith(f"{{{SVG_NS}}}"):
        return None
    return tag.split("}", 1)[1]


def sanitize_svg(data: bytes) -> bytes | Refused:
    """The SVG rebuilt from its allow-listed parts (see the module docstring), or why it cannot be used."""
    from lxml import etree

    root = _bounded_tree(data)
    if isinstance(root, Refused):
        return root
    if _local_name(root.tag) != "svg":
        return Refused("not an SVG image (the root element is not <svg>)")
    for element in list(root.iter()):
        name = _local_name(element.tag)
        if element is not root and (name is None or name not in SVG_ELEMENTS):
            parent = element.getparent()
            if parent is not None:
                _remove_keeping_tail(element)
            continue
        for attr in list(element.attrib):
            value = element.attrib[attr]
            local = attr.split("}", 1)[-1]
            if (local.lower().startswith("on") or local in _BANNED_ATTRIBUTES
                    or (attr in _REFERENCE_ATTRIBUTES and not value.strip().startswith("#"))
                    or (local == "style" and (_EXTERNAL_URL.search(value) or _ACTIVE_CSS.search(value)))
                    or _EXTERNAL_URL.search(value)):
                del element.attrib[attr]
        if name == "style":
            css = element.text or ""
            if len(element) or _EXTERNAL_URL.search(css) or _ACTIVE_CSS.search(css):
                _remove_keeping_tail(element)
    if not any(_draws(element) for element in root.iter()):
        return Refused("nothing left to draw (no shape, path or text remains once scripts, external images and "
                       "unknown elements are removed; an empty box would print); draw it with SVG shapes, paths "
                       "or text")
    drawn = _expanded_size(root)
    if drawn is None:
        return Refused("a <use> refers to an element that holds it (a loop, which never ends drawing); remove it")
    if drawn > MAX_SVG_ELEMENTS:
        return Refused(f"more than {MAX_SVG_ELEMENTS:,} SVG elements once its <use> references and markers are "
                       "expanded (a <use> draws the element it names again, with everything in it; a marker is drawn "
                       "at every vertex of a line); draw fewer")
    etree.cleanup_namespaces(root)
    return etree.tostring(root, encoding="utf-8", xml_declaration=False)


def _expanded_size(root: object) -> int | None:
    """How many elements drawing ``root`` visits, each ``<use>`` counting the element it names with all it holds,
    and, when the file has a ``<marker>``, each path, line, polyline or polygon counting one marker per vertex
    (stopped once past :data:`MAX_SVG_ELEMENTS`); None for a ``<use>`` loop. A few hundred bytes of ``<use>``
    nested ten deep draw 10^8 circles (trial11: `qaexport pdf` past 5 minutes and 4 GiB), and a marker of 1,000
    circles on a path of 20,000 points draws 2*10^7 (180 KB: 2 minutes and 2 GiB), so the limit on elements is a
    limit on what they expand to. Iterative: a tree may nest deep."""
    elements = list(root.iter())  # type: ignore[attr-defined]  # kept alive, so lxml hands out the same proxies
    sizes = _sizes(root, elements, 0)
    if sizes is None:
        return None
    markers = [sizes[e] for e in elements if _local_name(e.tag) == "marker"]
    if markers:  # where a marker goes (attributes, style, CSS) is not worked out: the biggest, at every vertex
        sizes = _sizes(root, elements, max(markers))
    return None if sizes is None else sizes[root]


#: Elements a marker is drawn on, at each vertex; and the numbers of their coordinates (two a vertex, or more).
_MARKABLE = frozenset({"path", "line", "polyline", "polygon"})
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _vertices(element: Any) -> int:
    name = _local_name(element.tag)
    if name == "line":
        return 2
    data = element.get("d" if name == "path" else "points") or ""
    return sum(1 for _ in _NUMBER.finditer(data)) // 2 + 1


def _sizes(root: Any, elements: list[Any], marker: int) -> dict[Any, int] | None:
    """Each element's drawn size (see :func:`_expanded_size`; ``marker``: what one marker draws, 0 for none)."""
    by_id: dict[str, Any] = {}
    for element in elements:
        ident = element.get("id")
        if ident is not None:
            by_id.setdefault(ident, element)

    def parts(element: Any) -> list[Any]:
        found = [child for child in element if isinstance(child.tag, str)]
        if _local_name(element.tag) == "use":
            ref = next((element.get(a) for a in _REFERENCE_ATTRIBUTES if element.get(a)), "")
            target = by_id.get(ref.strip()[1:]) if ref.strip().startswith("#") else None
            if target is not None:
                found.append(target)
        return found

    size: dict[Any, int] = {}
    started: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        element, done = stack.pop()
        if done:
            own = 1 + (_vertices(element) * marker if marker and _local_name(element.tag) in _MARKABLE else 0)
            size[element] = min(own + sum(size[part] for part in parts(element)), MAX_SVG_ELEMENTS + 1)
            continue
        if element in size:
            continue
        if element in started:  # met again inside its own drawing
            return None
        started.add(element)
        stack.append((element, True))
        stack.extend((part, False) for part in parts(element) if part not in size)
    return size


#: Bytes handed to the parser at a time: the element count is checked between chunks, so a file of millions of
#: elements is refused after at most one chunk's worth past the limit, never built whole (trial10 #21: 400,000
#: circles took 409 MB before the refusal).
_FEED_BYTES = 64 * 1024


def _bounded_tree(data: bytes) -> object:
    """The parsed tree (without entities, DTDs or network), or :class:`Refused` as soon as more than
    :data:`MAX_SVG_ELEMENTS` elements have started: counted while parsing, so memory stays bounded by the limit."""
    from lxml import etree

    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False,
                                 dtd_validation=False, huge_tree=False, remove_comments=True, remove_pis=True)
    count = 0
    try:
        for start in range(0, len(data), _FEED_BYTES):
            parser.feed(data[start:start + _FEED_BYTES])
            count += sum(1 for _ in parser.read_events())
            if count > MAX_SVG_ELEMENTS:
                return Refused(f"more than {MAX_SVG_ELEMENTS:,} SVG elements")
        root = parser.close()
    except etree.XMLSyntaxError as exc:  # its msg says where ("…, line 1, column 15"); str() adds "(<string>, …)"
        said = exc.msg or str(exc)
        return _parser_limit(said) or Refused(f"not a well-formed SVG file ({clause(said)})")
    except ValueError as exc:
        return Refused(f"not a well-formed SVG file ({clause(str(exc))})")
    count += sum(1 for _ in parser.read_events())
    if count > MAX_SVG_ELEMENTS:
        return Refused(f"more than {MAX_SVG_ELEMENTS:,} SVG elements")
    return root


def _draws(element: object) -> bool:
    """Whether a kept element puts something on the page (a ``<use>`` only while it still names what it uses)."""
    name = _local_name(element.tag)  # type: ignore[attr-defined]
    return name in _DRAWN and (name != "use" or bool(_REFERENCE_ATTRIBUTES & set(element.attrib)))  # type: ignore[attr-defined]


#: libxml2's messages for its own limits, each with its advice to a programmer ("use XML_PARSE_HUGE option", "see
#: xmlCtxtSetMaxAmplification"): said instead in the author's terms, with what to change in the file (trial10 #18).
_PARSER_LIMITS = (
    ("entity amplification", "its entities expand too much (<!ENTITY> declarations that repeat each other, an "
                             "\"entity bomb\"); remove the <!DOCTYPE …> and its entities from the file"),
    ("Excessive depth", "its elements nest more than 256 deep; flatten the groups (<g>) or export it again from "
                        "the drawing program"),
    ("XML_PARSE_HUGE", "a text, name or attribute in it is too long for the parser (over 10,000,000 characters); "
                       "shorten it or export the drawing again"),
)


def _parser_limit(message: str) -> Refused | None:
    """The refusal for a file that hit one of the parser's limits, or None for a plain syntax error."""
    for sign, said in _PARSER_LIMITS:
        if sign in message:
            where = message.rsplit(", line ", 1)
            return Refused(f"{said} (line {clause(where[1])})" if len(where) == 2 and "entity" not in sign else said)
    return None


def _remove_keeping_tail(element: object) -> None:
    """Drop an element and its content; text that followed it in its parent stays."""
    parent = element.getparent()  # type: ignore[attr-defined]
    tail = element.tail  # type: ignore[attr-defined]
    if tail:
        previous = element.getprevious()  # type: ignore[attr-defined]
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)
