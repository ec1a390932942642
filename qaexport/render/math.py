"""Formulas in each scheme: typeset at build time for print and e-readers, live MathJax for Anki.

* ``COMPACT`` (books, cards): MathML from latex2mathml (``formats.math``, the one check of what can be typeset)
  and an SVG drawing of the same MathML by ziamath (pure Python, its own STIX Two Math font: no TeX, no network,
  no JavaScript). Both go into the HTML; the print exporters keep the drawing (WeasyPrint has no MathML), the
  EPUB keeps the MathML (EPUB 3 reading systems typeset it; ``alttext`` holds the TeX for those that cannot).
  The drawing is sized in ``em`` so it follows the text size (cards shrink long text).
* ``PORTABLE`` (Anki): ``\\(…\\)`` / ``\\[…\\]`` in a ``<span class="math">``, which Anki's MathJax typesets on
  desktop and phones. ``exporters/anki/text.inert`` keeps exactly these delimiters live (content cannot make that
  class: Markdown is escaped, card HTML loses unknown classes in the sanitiser).

A formula that cannot be typeset prints as code (``<code class="math-error">``); the bank reader warned about it
with FILE:LINE.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from ..formats.math import MathError, mathml
from .schemes import Scheme

#: ziamath draws at this size (px); the SVG is then sized in em of the surrounding text.
_DRAW_SIZE = 16.0
_SVG_SIZE = re.compile(r'^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)" viewBox="([-\d. ]+)"')


def _source(tex: str, display: bool) -> str:
    return f"$${tex}$$" if display else f"${tex}$"


@lru_cache(maxsize=4096)
def typeset(tex: str, display: bool) -> str:
    """Print HTML for one formula: ``<span class="math">`` holding MathML and the SVG drawing; code if it cannot
    be typeset. Cached: a formula repeated across a bank is drawn once per process."""
    tex = tex.strip()
    try:
        markup = mathml(tex, display)
        svg = _svg(markup, tex)
    except MathError:
        return f'<code class="math-error">{html_lib.escape(_source(tex, display), quote=False)}</code>'
    alt = html_lib.escape(tex, quote=True)
    markup = markup.replace("<math ", f'<math alttext="{alt}" ', 1)
    kind = "math display" if display else "math"
    return f'<span class="{kind}">{markup}<span class="math-svg" role="img" aria-label="{alt}">{svg}</span></span>'


def _svg(markup: str, tex: str) -> str:
    """The formula drawn by ziamath, sized in em, aligned on the text's baseline."""
    import ziamath

    ziamath.config.svg2 = False  # plain paths: every SVG renderer (WeasyPrint's included) draws them
    try:
        with _root_logger_left_alone():
            drawing = ziamath.Math(markup, size=_DRAW_SIZE).svg()
    except RecursionError:
        raise MathError("the formula nests too deeply") from None
    except Exception as exc:  # ziamath has no error hierarchy of its own
        raise MathError(f"cannot draw it ({type(exc).__name__})") from None
    m = _SVG_SIZE.match(drawing)
    if m is None:
        raise MathError("unexpected drawing")
    width, height = float(m.group(2)), float(m.group(3))
    top = float(m.group(4).split()[1])
    descent = height + top  # the viewBox starts at -ascent; the baseline is y = 0
    size = (f'{m.group(1)} width="{width / _DRAW_SIZE:.3f}em" height="{height / _DRAW_SIZE:.3f}em" '
            f'viewBox="{m.group(4)}" style="vertical-align: {-descent / _DRAW_SIZE:.3f}em" aria-hidden="true"')
    rest = drawing[m.end():]
    opened = rest.index(">") + 1
    # The TeX as the drawing's title: a tagged PDF gives it as the formula's alternate text (WeasyPrint reads an
    # inline SVG's <title>); nothing draws it.
    title = f"<title>{html_lib.escape(tex, quote=False)}</title>"
    return f"<svg{size}{rest[:opened]}{title}{rest[opened:]}"


@contextmanager
def _root_logger_left_alone() -> Iterator[None]:
    """ziafont logs through the root logger (``logging.debug``), and the first such call with no root handler
    runs ``logging.basicConfig()``: from then on every library's records reached stderr (WeasyPrint's page
    progress and CSS warnings under qaexport's own one-line messages). A root handler that drops everything,
    only while drawing, keeps the root logger as the application left it."""
    root = logging.getLogger()
    quiet = logging.NullHandler()
    root.addHandler(quiet)
    try:
        yield
    finally:
        root.removeHandler(quiet)


def live(tex: str, display: bool) -> str:
    """Anki HTML for one formula: MathJax delimiters in the one element ``inert`` keeps live; code, as in print,
    when it cannot be typeset."""
    try:
        mathml(tex, display)
    except MathError:
        return f'<code class="math-error">{html_lib.escape(_source(tex.strip(), display), quote=False)}</code>'
    body = html_lib.escape(tex.strip(), quote=False)
    return (f'<span class="math display">\\[{body}\\]</span>' if display
            else f'<span class="math">\\({body}\\)</span>')


def formula(tex: str, display: bool, scheme: Scheme) -> str:
    return live(tex, display) if scheme is Scheme.PORTABLE else typeset(tex, display)


# ---------------------------------------------------------------------------------------------- HTML content

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*>")
_DELIMITED = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_NOT_MATH = frozenset({"pre", "code"})


def html_formulas(sanitized: str, scheme: Scheme) -> str:
    """Sanitised card HTML with its MathJax formulas (``\\(…\\)``, ``\\[…\\]`` in text, outside code) in
    ``scheme``'s form: an Anki note's math prints typeset like a bank's."""
    if "\\(" not in sanitized and "\\[" not in sanitized:
        return sanitized
    out: list[str] = []
    skipped = 0
    pos = 0
    for tag in _TAG.finditer(sanitized):
        text = sanitized[pos:tag.start()]
        out.append(text if skipped else _replace_formulas(text, scheme))
        if tag.group(2).lower() in _NOT_MATH and not tag.group(0).endswith("/>"):
            skipped = max(0, skipped - 1) if tag.group(1) else skipped + 1
        out.append(tag.group(0))
        pos = tag.end()
    tail = sanitized[pos:]
    out.append(tail if skipped else _replace_formulas(tail, scheme))
    return "".join(out)


def _replace_formulas(text: str, scheme: Scheme) -> str:
    return _DELIMITED.sub(lambda m: formula(html_lib.unescape(m.group(1) if m.group(1) is not None
                                                              else m.group(2)), m.group(2) is not None, scheme),
                          text)
