"""The EPUB's cover image: an SVG drawn from what the cover page says, for library grids and shelves.

Reading systems show ``properties="cover-image"`` as the book's thumbnail; without one a book is a grey tile.
SVG keeps it small, sharp at every size and reproducible (no raster library, no fonts embedded: the reader's
sans-serif draws it). Text is wrapped here because SVG does not wrap.
"""

from __future__ import annotations

import textwrap

WIDTH, HEIGHT = 600, 900


def escape(text: str, quote: bool = False) -> str:
    """XML character data (and, with ``quote``, a double-quoted attribute). Not ``xml.sax.saxutils.escape``:
    importing it loads urllib, http.client and ssl, a tenth of every command's start-up (exporters load with
    the CLI)."""
    text = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    return text.replace('"', "&quot;") if quote else text


def _lines(text: str, width: int, most: int) -> list[str]:
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    if len(lines) > most:
        lines = [*lines[: most - 1], textwrap.shorten(" ".join(lines[most - 1:]), width=width, placeholder=" …")]
    return lines


def cover_svg(title: str, subtitle: str, total: int, counts: list[tuple[str, int]], quiz: bool, author: str,
              language: str) -> str:
    """A 600×900 cover: kicker, title, subtitle, counts per difficulty, author."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title, quote=True)}" xml:lang="{language}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#0f2a44"/>',
        f'<rect x="36" y="36" width="{WIDTH - 72}" height="{HEIGHT - 72}" fill="none" stroke="#e9c46a" '
        'stroke-width="3"/>',
        '<g font-family="DejaVu Sans, Helvetica, Arial, sans-serif" text-anchor="middle" fill="#ffffff">',
        f'<text x="{WIDTH // 2}" y="170" font-size="22" letter-spacing="5" fill="#e9c46a">'
        f'{"QUIZ · " if quiz else ""}INTERVIEW QUESTIONS</text>',
    ]
    y = 290
    for line in _lines(title, 16, 4):
        parts.append(f'<text x="{WIDTH // 2}" y="{y}" font-size="54" font-weight="bold">{escape(line)}</text>')
        y += 66
    y += 20
    if subtitle:
        for line in _lines(subtitle, 36, 4):
            parts.append(f'<text x="{WIDTH // 2}" y="{y}" font-size="24" font-style="italic" fill="#d7e3f0">'
                         f"{escape(line)}</text>")
            y += 34
    parts.append(f'<text x="{WIDTH // 2}" y="{HEIGHT - 200}" font-size="30" font-weight="bold">'
                 f"{total} questions</text>")
    per_level = " · ".join(f"{n} {label}" for label, n in counts)
    parts.append(f'<text x="{WIDTH // 2}" y="{HEIGHT - 160}" font-size="24">{escape(per_level)}</text>')
    if author:
        parts.append(f'<text x="{WIDTH // 2}" y="{HEIGHT - 110}" font-size="26">'
                     f"{escape(_lines(author, 40, 1)[0])}</text>")
    parts += ["</g>", "</svg>", ""]
    return "\n".join(parts)
