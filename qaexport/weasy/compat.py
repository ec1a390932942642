"""WeasyPrint's user-agent stylesheet without its universal pseudo-element rules: less memory and time per page.

WeasyPrint's ``html5_ua.css`` has universal ``::marker``, ``::footnote-call``, ``::footnote-marker`` rules (and
since 70 ``::note-call``, ``::note-marker`` and ``::note-callback``). A universal pseudo-element rule makes
WeasyPrint compute and keep a style for that pseudo-element of *every* element, used or not: measured on a 93-page
part of the benchmark book, 56,000 of its 62,000 computed styles, a quarter of the layout's memory and a sixth of
its time.

Our books have no footnotes or notes (the sanitiser drops ``style`` attributes and our CSS never floats anything to
a footnote), and only ``li`` and ``summary`` are list items, so the marker rule is scoped to them and the note
rules are dropped; pages come out the same (the tests compare rasterised pages and list markers).

This reaches past WeasyPrint's public API (``HTML._ua_stylesheets`` and ``weasyprint.html.UA_STYLESHEET``,
``HTML5_UA_STYLESHEET`` before 70), so it
lives here alone (the architecture test holds every other module to the public API) and every reach is checked
before it is used: when a private name is missing, the method's signature differs, or the rules are not found
as expected (another WeasyPrint), :func:`html_class` gives the public :class:`weasyprint.HTML` with its stock
sheet: slower and heavier, never wrong. ``pyproject.toml`` bounds WeasyPrint to the releases the tests ran on
(``TESTED``); the tests check the trim applies to the installed one, and that the fallback prints the same pages.
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any

from weasyprint import CSS, HTML

from .compat_cffi import parse_ahead
from .compat_stock_sheets import lean_sheet, lean_source

#: The WeasyPrint releases (major versions) whose private UA parts were checked; pyproject.toml bounds to them.
TESTED = range(68, 71)

#: Where the sheet's source, its counter styles and the sheet are: WeasyPrint 70 names, then 68–69 names.
_NAMES = (("UA", "UA_COUNTER_STYLE", "UA_STYLESHEET"),
          ("HTML5_UA", "HTML5_UA_COUNTER_STYLE", "HTML5_UA_STYLESHEET"))


@functools.cache
def _private_ua() -> tuple[str, Any, CSS] | None:
    """WeasyPrint's UA sheet source, counter styles and sheet object, when this WeasyPrint has them where the trim
    expects them (and ``HTML._ua_stylesheets(self, forms)`` to swap the sheet in); else None."""
    import weasyprint.html as private

    names = next((n for n in _NAMES if all(hasattr(private, name) for name in n)), None)
    try:
        parameters = list(inspect.signature(HTML._ua_stylesheets).parameters)
    except (AttributeError, TypeError, ValueError):
        return None
    if names is None or parameters != ["self", "forms"]:
        return None
    source, counter_style, sheet = (getattr(private, name) for name in names)
    return (source, counter_style, sheet) if isinstance(source, str) and isinstance(sheet, CSS) else None


def lean_ua_source(source: str | None = None) -> str | None:
    """``source`` (WeasyPrint's own UA sheet by default) with the marker rule scoped to list items and the note
    rules removed (``compat_stock_sheets.lean_source``); None when the rules are not there as expected, or the sheet
    is not where it was."""
    if source is None:
        private = _private_ua()
        if private is None:
            return None
        source = private[0]
    return lean_source(source)


@functools.cache
def _lean_stylesheet() -> tuple[CSS, CSS] | None:
    """(stock sheet, lean sheet), or None when the trim does not apply to this WeasyPrint."""
    private = _private_ua()
    source = lean_ua_source()
    if private is None or source is None:
        return None
    _ua, counter_style, stock = private
    # Parsed as WeasyPrint loaded, in the stock sheet's place (compat_stock_sheets), else now.
    lean = lean_sheet(stock, source) or CSS(string=source, counter_style=counter_style)
    return stock, lean


class LeanHTML(HTML):
    """:class:`weasyprint.HTML` laid out with the lean user-agent stylesheet (use :func:`html_class`, which gives
    this class only where the trim applies)."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        sheets = _lean_stylesheet()
        if sheets is None:
            return super()._ua_stylesheets(forms)
        stock, lean = sheets
        return [lean if sheet is stock else sheet for sheet in super()._ua_stylesheets(forms)]


def html_class() -> type[HTML]:
    """The class a document is laid out with: :class:`LeanHTML` where the trim applies to the installed WeasyPrint,
    else WeasyPrint's public :class:`~weasyprint.HTML` (the same pages, more memory and time)."""
    return LeanHTML if _lean_stylesheet() is not None else HTML


#: An array type with its length, as WeasyPrint's font subsetting spells the arrays it hands HarfBuzz
#: (``hb_codepoint_t[{len(glyphs)}]``).
_FIXED_ARRAY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]")


class _OpenArrays:
    """WeasyPrint's cffi ``FFI`` object, as its PDF font module (``weasyprint.pdf.fonts``) uses it, allocating an
    array ``T[N]`` filled from a sequence of N items as ``T[]`` from that sequence: the same memory, the same values.

    Why: cffi parses every C type string it has not seen with pycparser, after a prologue of every type the library
    declared (~1.5 ms each), and WeasyPrint spells a new string for every distinct number of glyphs it subsets a
    font to: 25 parses in writing a 9-page booklet, ~0.04 s of CPU (4 % of the author's loop). ``T[]`` is parsed
    once per process. Everything else goes to the ``FFI`` object as it is."""

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ffi, name)

    def new(self, cdecl: Any, init: Any = None) -> Any:
        match = _FIXED_ARRAY.fullmatch(cdecl) if isinstance(cdecl, str) else None
        if match is not None and isinstance(init, list | tuple) and len(init) == int(match[2]):
            return self._ffi.new(f"{match[1]}[]", init)
        return self._ffi.new(cdecl, init)


def open_arrays() -> bool:
    """Give WeasyPrint's PDF font module :class:`_OpenArrays` (once per process); False where that module has no
    cffi ``FFI`` object named ``ffi`` (another WeasyPrint: left as it is, slower, never wrong)."""
    try:
        import weasyprint.pdf.fonts as pdf_fonts
        from cffi import FFI
    except ImportError:
        return False
    ffi = getattr(pdf_fonts, "ffi", None)
    if isinstance(ffi, _OpenArrays):
        return True
    if not isinstance(ffi, FFI):
        return False
    pdf_fonts.ffi = _OpenArrays(ffi)
    return True


#: Every type string WeasyPrint 70 passes to its ``ffi.new`` and ``ffi.cast`` (its source, searched), as
#: :func:`open_arrays` leaves them (``hb_codepoint_t[N]`` allocated as ``hb_codepoint_t[]``).
WEASYPRINT_TYPES = ("PangoRectangle *", "unsigned int *", "PangoFcFontMap *", "hb_codepoint_t[]", "hb_tag_t[100]",
                    "char[]", "char[4]", "PangoLogAttr[]", "FcResult *", "FcChar8 **")


def parse_types_ahead() -> int:
    """The C types WeasyPrint names, parsed by cffi in one pass now instead of one pass each when first met
    (``compat_cffi.parse_ahead``: ~0.005 s instead of ~0.02 s for a booklet, in the layout process); the number
    parsed. Reaches ``weasyprint.text.ffi``'s ``ffi`` object: 0, and nothing done, where it is not a cffi ``FFI``."""
    try:
        import weasyprint.text.ffi as private
        from cffi import FFI
    except ImportError:
        return 0
    ffi = getattr(private, "ffi", None)
    return parse_ahead(ffi, WEASYPRINT_TYPES) if isinstance(ffi, FFI) else 0


#: What :func:`_reachable` gives for a function already wrapped here (a second call changes nothing).
_ALREADY: Any = object()


def _reachable(module: Any, name: str, parameters: list[str]) -> Any:
    """``module.name`` when it is there with exactly ``parameters`` (the releases checked), :data:`_ALREADY` when it
    is already one of this module's wrappers, else None: a WeasyPrint whose private function moved or changed is
    left as it is, never wrapped blind."""
    made = getattr(module, name, None)
    if made is None:
        return None
    if getattr(made, "__wrapped__", None) is not None:
        return _ALREADY
    try:
        found = list(inspect.signature(made).parameters)
    except (TypeError, ValueError):
        return None
    return made if found == parameters else None


# --- Pages without margin boxes ------------------------------------------------------------------------------

#: The sixteen margin boxes of a page (CSS Paged Media), by their at-rules' names.
MARGIN_BOXES = (
    "@top-left-corner", "@top-left", "@top-center", "@top-right", "@top-right-corner",
    "@bottom-left-corner", "@bottom-left", "@bottom-center", "@bottom-right", "@bottom-right-corner",
    "@left-top", "@left-middle", "@left-bottom", "@right-top", "@right-middle", "@right-bottom")
#: The values of ``content`` that generate no margin box (WeasyPrint's ``make_margin_boxes``).
NOT_GENERATED = ("normal", "inhibit", "none")


def skip_empty_margin_boxes() -> bool:
    """Pages whose style has no margin-box rule at all are given no margin boxes without making them.

    WeasyPrint makes the sixteen margin boxes of every page (a box, its style's counters, its percentages) and then
    keeps only those whose ``content`` generates something; with no margin-box ``content`` none does, and on the
    cards' measuring documents (a page per face, ~3,300 pages for 560 questions) making them was 4 % of the run.
    When none of the sixteen styles ``context.style_for(page_type, at_rule)`` generates (WeasyPrint's own test:
    no style, or a ``content`` of ``normal``, ``inhibit`` or ``none``; the user-agent sheet gives every margin box
    a style, its alignment), the page gets no margin box here either; any other page is WeasyPrint's own. Reaches
    ``weasyprint.layout``'s module name ``make_margin_boxes`` (what ``layout_document`` calls): False, and nothing
    changed, when it is not there with the signature ``(context, page, state)``."""
    import weasyprint.layout as private

    made = _reachable(private, "make_margin_boxes", ["context", "page", "state"])
    if made is None or made is _ALREADY:
        return made is _ALREADY

    def generates(context: Any, page: Any, at_rule: str) -> bool:
        style = context.style_for(page.page_type, at_rule)
        return style is not None and style["content"] not in NOT_GENERATED

    @functools.wraps(made)
    def make_margin_boxes(context: Any, page: Any, state: Any) -> Any:
        if not any(generates(context, page, at_rule) for at_rule in MARGIN_BOXES):
            return iter(())
        return made(context, page, state)

    private.make_margin_boxes = make_margin_boxes
    return True


#: ``split_first_line``'s parameters in the WeasyPrint releases checked (68-70).
SPLIT_FIRST_LINE = ["text", "style", "context", "max_width", "justification_spacing", "is_line_start", "minimum"]


def hang_trailing_spaces() -> bool:
    """A run of text that overflows its line only by its trailing space is taken to fit (the space hangs), not cut
    after its first word.

    When an unbreakable piece at a line's end does not fit (an inline ``<code>.easy</code>``: no break is allowed
    before its ``.``, so it holds on to the word before it), WeasyPrint goes back to the text before it and lays it
    out again 1 px narrower, to break it at its last break point. That text ends with the space before the element,
    and 1 px narrower it overflows by that space alone: Pango hangs the space and finds no break, and
    ``split_first_line`` takes the run for one too wide to split and keeps its first word only. The line ended
    after one word, and the next line again ("when you / reword / the / question": trial 9, item 6; the cards'
    narrow faces met it; any WeasyPrint layout can). Here such a result (a line of one word, the rest of the run fitting
    once its trailing spaces are left out) is replaced by the whole run, as WeasyPrint treats a trailing space
    elsewhere (``split_inline_box``): it narrows the width again until the run breaks at its real last break point.
    Reaches ``weasyprint.layout.inline``'s module name ``split_first_line`` (what ``split_text_box`` calls): False,
    and nothing changed, when it is not there with the parameters :data:`SPLIT_FIRST_LINE`."""
    import weasyprint.layout.inline as private

    made = _reachable(private, "split_first_line", SPLIT_FIRST_LINE)
    if made is None or made is _ALREADY:
        return made is _ALREADY

    @functools.wraps(made)
    def split_first_line(text: str, style: Any, context: Any, max_width: float | None, justification_spacing: float,
                         is_line_start: bool = True, minimum: bool = False) -> Any:
        split = made(text, style, context, max_width, justification_spacing, is_line_start, minimum)
        resume = split[2]
        if (resume is None or minimum or max_width is None or not text.endswith(" ")
                or style["white_space"] not in ("normal", "pre-line")):
            return split
        words = text.rstrip(" ")
        if " " not in words or b" " in text.encode()[:resume].rstrip(b" "):
            return split  # one word, or a line of several words: a real break
        fitted = made(words, style, context, float("inf"), justification_spacing, is_line_start, minimum)
        if fitted[2] is not None or fitted[3] > max_width:
            return split  # the words do not fit without the space either: the first word alone is right
        return made(text, style, context, float("inf"), justification_spacing, is_line_start, minimum)

    private.split_first_line = split_first_line
    return True
