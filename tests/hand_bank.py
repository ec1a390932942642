"""A bank written by hand, not in ``convert``'s canonical form: several files in folders, YAML comments, odd
spacing and heading styles, front matter keys in any order, descriptions, a BOM and CRLF line ends, cloze,
images (a cover too) and math. A deck must give it back byte for byte."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

FILES = {
    "intro.md": (
        "---\n"
        "# The first file: names the cover.\n"
        "subtopic:   {name: Getting started, description: 'What *this* is and `why`'}\n"
        "topic: Basics\n"
        "framework:\n"
        "  name: Hand Bank      # a comment after a value\n"
        "  description: A bank written by **hand**.\n"
        "cover: pics/cover.png\n"
        "---\n"
        "\n\n"
        "## What is a bank?   {#what .easy}\n"
        "\n"
        "A folder of *Markdown* files.\n"
        "\n\n\n"
        "Its   spacing   is   the author's.\n"
        "##    Where do images go? {.medium #images}\n"
        "Beside the file: ![a resistor](pics/resistor.png)\n"
        "\n"
        "## {#energy .hard}\n"
        "\n"
        "```question\n"
        "Einstein's formula?\n"
        "\n"
        "Write it with math.\n"
        "```\n"
        "\n"
        "$$E = mc^2$$ and inline $a^2 + b^2$.\n"
    ),
    "physics/waves.md": (
        "\ufeff---\r\n"
        "framework: Hand Bank\r\n"
        "topic:\r\n"
        "  name: Physics\r\n"
        "  order: 2\r\n"
        "subtopic: Waves\r\n"
        "---\r\n"
        "## The speed of light is {{c1::299,792 km/s::a number}} in {{c2::vacuum}}. {#light .medium}\r\n"
        "\r\n"
        "Measured since 1676.\r\n"
        "\r\n"
        "## Frequency?  {#freq  .unrated}\r\n"
        "\r\n"
        "```answer\r\n"
        "## Not a question\r\n"
        "\r\n"
        "f = 1 / T\r\n"
        "```\r\n"
    ),
    "physics/optics/lenses.md": (
        "---\n"
        "subtopic:\n"
        "  description: Lenses, with `code`.\n"
        "  name: Lenses\n"
        "framework: {name: Hand Bank}\n"
        "topic: {name: Physics}\n"
        "---\n"
        "\n"
        "## A lens? {#lens .easy}\n"
        "\n"
        "    indented code\n"
        "\n"
        "* a list\n"
        "*   with odd spacing\n"
        "\n"
        "## Focal length of ![lens](img/lens.png)?{#focal .hard}\n"
        "\n"
        "1/f = 1/u + 1/v\n"
    ),
}
IMAGES = {"pics/cover.png": (60, 80, (0, 0, 128)), "pics/resistor.png": (40, 20, (200, 0, 0)),
          "physics/optics/img/lens.png": (30, 30, (0, 160, 0))}


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    """A small solid PNG, made without an imaging library."""
    width, height = size
    raw = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write_hand_bank(folder: Path) -> Path:
    """The bank, in ``folder`` (returned)."""
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    for name, (w, h, colour) in IMAGES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png((w, h), colour))
    return folder
