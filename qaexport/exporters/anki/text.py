"""Every text a note stores, made safe for Anki: the one place fields are escaped and made inert.

Anki interprets more than HTML in a note: it plays ``[sound:…]`` and ``[anki:tts]…[/anki:tts]``,
turns ``[latex]…[/latex]``, ``[$]…[/$]`` and ``[$$]…[/$$]`` into LaTeX images, and its MathJax
typesets ``\\(…\\)`` and ``\\[…\\]``. Content is untrusted, so all of it must stay text that reads
the same to a person:

* Anki finds its bracket markup in the raw HTML string, so the ``[`` that opens it becomes the
  entity ``&#91;`` (a browser shows ``[``; Anki's patterns no longer match). Applied everywhere,
  inside code too, where Anki would still find it.
* MathJax reads the page's text (entities already decoded), so an entity cannot hide a delimiter.
  Outside ``<pre>``/``<code>`` (which MathJax skips), each delimiter is wrapped in an element
  with MathJax's ignore classes (``mathjax_ignore`` for MathJax 3, ``tex2jax_ignore`` for 2):
  MathJax skips the delimiter's text, so no formula can start. The one exception is a formula the
  author wrote (``$…$`` in a bank), which the renderer puts in ``<span class="math">``: it stays live.

Names (framework, topic, subtopic) and keys are plain text: they are HTML-escaped first.
"""

from __future__ import annotations

import html
import re

_OPENS_ANKI_MARKUP = re.compile(r"\[(?=/?(?:sound:|anki:|latex\]|\$\$?\]))", re.I)

#: A tag or comment in serialised HTML (quoted attribute values may hold ``>``).
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9-]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.S)
_SKIPPED_BY_MATHJAX = frozenset({"pre", "code", "script", "noscript", "style", "textarea"})
_BACKSLASH = r"(?:\\|&#0*92;|&#x0*5c;|&bsol;)"
_DELIMITER = r"(?:[()\[\]]|&#0*(?:40|41|91|93);|&#x0*(?:28|29|5b|5d);|&lpar;|&rpar;|&lsqb;|&rsqb;|&lbrack;|&rbrack;)"
_MATHJAX_DELIMITER = re.compile(_BACKSLASH + _DELIMITER, re.I)
_IGNORE = '<span class="mathjax_ignore tex2jax_ignore">{}</span>'
#: The element ``render/math.live`` puts a bank's formula in: its delimiters stay live for MathJax. Content cannot
#: make it: Markdown's raw HTML is escaped, and card HTML loses every class but a few in ``formats/html.sanitize``.
_LIVE_FORMULA = re.compile(r'<span class="math(?: display)?">')


def _wrap_mathjax(text: str) -> str:
    return _MATHJAX_DELIMITER.sub(lambda m: _IGNORE.format(m.group(0)), text)


def inert(fragment: str) -> str:
    """An HTML fragment with Anki's sound, TTS, LaTeX and MathJax markup broken, reading the same."""
    # Cheap substring checks first: most fragments hold neither, and a 10,000-note deck passes here twice.
    if ("\\" in fragment or "&#" in fragment or "&bsol;" in fragment) and _MATHJAX_DELIMITER.search(fragment):
        fragment = _wrap_mathjax_outside_code(fragment)  # rare: only then is the fragment split into tags
    return _OPENS_ANKI_MARKUP.sub("&#91;", fragment) if "[" in fragment else fragment


def _wrap_mathjax_outside_code(fragment: str) -> str:
    out: list[str] = []
    skipped = 0  # depth inside elements MathJax does not read
    formula = False  # inside one of the renderer's own formulas: its delimiters stay live
    pos = 0
    for tag in _TAG.finditer(fragment):
        text = fragment[pos:tag.start()]
        out.append(text if skipped or formula else _wrap_mathjax(text))
        closing, name = tag.group(1), (tag.group(2) or "").lower()
        if name in _SKIPPED_BY_MATHJAX and not tag.group(0).endswith("/>"):
            skipped = max(0, skipped - 1) if closing else skipped + 1
        elif _LIVE_FORMULA.fullmatch(tag.group(0)):
            formula = True
        elif formula and closing and name == "span":  # a formula's span holds text only
            formula = False
        out.append(tag.group(0))
        pos = tag.end()
    tail = fragment[pos:]
    out.append(tail if skipped or formula else _wrap_mathjax(tail))
    return "".join(out)


def text_field(text: str) -> str:
    """Plain text (a name, a breadcrumb, a key) as a field: shown as text, never as markup."""
    return inert(html.escape(text, quote=True))


def note_fields(question_html: str, answer_html: str, difficulty: str, source: str, key: str) -> list[str]:
    """The note's fields in the frozen order (Question, Answer, Difficulty, Source, Key), every one made
    safe here: the HTML ones made inert, the plain-text ones escaped first."""
    return [inert(question_html), inert(answer_html), text_field(difficulty), text_field(source), text_field(key)]


def sort_text(field_html: str) -> str:
    """What Anki keeps as a note's sort field: the first field without tags."""
    return html.unescape(_TAG.sub("", field_html)).strip()


_TAG_DROP = re.compile(r"[^a-z0-9._-]+")


def tag_part(text: str) -> str:
    """A tag component: Anki tags cannot hold spaces and ``::`` nests, so only ``[a-z0-9._-]`` remain."""
    return _TAG_DROP.sub("-", text.lower()).strip("-") or "untitled"
