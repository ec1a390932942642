"""Real Anki packages built with the official ``anki`` package (Basic, reversed, cloze, type-in, media, decks)."""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from anki.collection import Collection, ExportAnkiPackageOptions
from anki.decks import DeckId

from tests.anki_collection import new_collection


def png_bytes(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real, tiny PNG (so WeasyPrint decodes it and the PDF gets an image XObject)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


MP3 = base64.b64decode("SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA")  # an ID3 header is enough


@dataclass
class DeckSpec:
    """What the sample deck holds, so tests can check every note's text."""

    texts: dict[str, str]  # label -> a distinctive phrase that must appear in the outputs


def add(col: Collection, notetype: str, deck: str, fields: dict[str, str], tags: list[str] = ()) -> int:
    model = col.models.by_name(notetype)
    note = col.new_note(model)
    for name, value in fields.items():
        note[name] = value
    note.tags = list(tags)
    did = col.decks.id(deck)
    col.add_note(note, DeckId(did))
    return note.id


def set_description(col: Collection, deck: str, text: str) -> None:
    d = col.decks.by_name(deck)
    d["desc"] = text
    col.decks.save(d)


def build_sample(col: Collection) -> None:
    """Basic, Basic (and reversed), Cloze with hints, type-in, image + sound, nested decks, difficulty tags."""
    col.media.write_data("diagram.png", png_bytes())
    col.media.write_data("hello.mp3", MP3)
    add(col, "Basic", "Biology::Cells::Organelles",
        {"Front": "What is the powerhouse of the cell?", "Back": "The mitochondrion"}, ["difficulty::easy"])
    add(col, "Basic (and reversed card)", "Biology::Cells::Organelles",
        {"Front": "Ribosome", "Back": "Site of protein synthesis"}, ["hard"])
    add(col, "Cloze", "Biology::Genetics",
        {"Text": "DNA is made of {{c1::nucleotides::building blocks}} joined by {{c2::phosphodiester}} bonds.",
         "Back Extra": "Watson and Crick 1953"}, ["difficulty::medium"])
    add(col, "Basic (type in the answer)", "Chemistry",
        {"Front": "Chemical symbol of sodium?", "Back": "Na"}, ["difficulty::hard"])
    add(col, "Basic", "Chemistry",
        {"Front": 'Look at this diagram <img src="diagram.png"> and listen [sound:hello.mp3]',
         "Back": "It shows a red square"})
    set_description(col, "Biology", "The study of living things")
    set_description(col, "Biology::Genetics", "Heredity and <b>DNA</b>")


def export(col: Collection, out: Path, legacy: bool) -> Path:
    col.export_anki_package(out_path=str(out), options=ExportAnkiPackageOptions(
        with_scheduling=False, with_deck_configs=False, with_media=True, legacy=legacy), limit=None)
    return out


def build_packages(folder: Path, fill=build_sample) -> dict[str, Path]:
    """The same collection as legacy .apkg, current .apkg, and .colpkg (current and legacy)."""
    with new_collection(folder / "src") as col:
        fill(col)
        out = {"legacy": export(col, folder / "legacy.apkg", True),
               "current": export(col, folder / "current.apkg", False)}
    col = Collection(str(folder / "src" / "collection.anki2"))
    col.export_collection_package(str(folder / "current.colpkg"), include_media=True, legacy=False)
    out["colpkg"] = folder / "current.colpkg"
    col = Collection(str(folder / "src" / "collection.anki2"))
    col.export_collection_package(str(folder / "legacy.colpkg"), include_media=True, legacy=True)
    out["legacy-colpkg"] = folder / "legacy.colpkg"
    return out


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><image href="file:///etc/passwd"/>'
       b'<rect width="4" height="4"/></svg>')
HOSTILE_CSS = ".card { background: url(file:///etc/passwd); } img { content: url('file:///etc/hostname'); }"


def build_hostile(col: Collection) -> None:
    """Script in fields and in the template, onerror, file: images, CSS url(file:…), SVG posing as PNG."""
    col.media.write_data("evil.png", SVG)  # named .png, bytes are SVG: refused by magic
    col.media.write_data("drawing.svg", SVG)
    col.media.write_data("good.png", png_bytes(4, 4, (0, 90, 200)))
    mm = col.models
    model = mm.new("Evil")
    for name in ("Front", "Back"):
        mm.add_field(model, mm.new_field(name))
    template = mm.new_template("Card 1")
    template["qfmt"] = '<script>document.title="pwned-template"</script><div onclick="alert(1)">{{Front}}</div>'
    template["afmt"] = '{{FrontSide}}<hr id=answer><img src=x onerror="alert(2)">{{Back}}<style>p{color:red}</style>'
    mm.add_template(model, template)
    model["css"] = HOSTILE_CSS
    mm.add(model)
    add(col, "Evil", "Hostile", {
        "Front": 'Hostile front <script>alert("field")</script><img src="file:///etc/passwd">'
                 '<img src="../../../etc/passwd"><img src="evil.png"><img src="drawing.svg"><img src="good.png">',
        "Back": '<a href="javascript:alert(3)">js link</a> <a href="file:///etc/passwd">file link</a>'
                '<div style="background:url(file:///etc/hostname)">styled</div><iframe src="https://x.invalid">'
                '</iframe><svg onload="alert(4)"><circle r="1"/></svg><object data="file:///x"></object>'
                '<form action="https://x.invalid"><input value="steal"></form> hostile back'})
