"""Shared rendering, done once per run: every exporter reuses the same HTML and theme CSS.

``render_library`` renders every question once in each scheme the run's exporters declared
and hands each exporter the texts of its own scheme; exporters never see content formats.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ..model import ContentFormat, Library, Question
from .highlight import DEFAULT_NIGHT_THEME, DEFAULT_THEME, Highlighter, available_themes
from .html import inline, replace_code_blocks, sanitize, to_text
from .markdown import MarkdownRenderer, clean_text
from .schemes import Scheme

__all__ = [
    "DEFAULT_NIGHT_THEME", "DEFAULT_THEME", "Highlighter", "MarkdownRenderer", "Rendered", "Scheme",
    "TextRenderer", "available_themes", "clean_text", "render_library",
]

_FENCE_LANG = re.compile(r"^ {0,3}(?:```|~~~)[ \t]*([\w+#.-]+)", re.M)

#: Below this many questions a process pool costs more than it saves (measured: ~0.1 s to start).
POOL_THRESHOLD = 200


@dataclass(frozen=True)
class Rendered:
    """A question and its answer in one scheme (HTML fragments, or plain text for ``PLAIN``)."""

    question: str  # inline
    answer: str  # block


RenderedBank = dict[Scheme, dict[str, Rendered]]


class TextRenderer:
    """Dispatches each text on its declared content format; the one entry point for rendering."""

    def __init__(self, highlighter: Highlighter, media: frozenset[str] = frozenset()) -> None:
        self.markdown = MarkdownRenderer(highlighter)
        self.highlighter = highlighter
        self.media = set(media)  # the library's media names: the only images HTML content may show

    def _html(self, question: Question, schemes: Sequence[Scheme]) -> dict[Scheme, Rendered]:
        """Untrusted HTML (Anki cards): sanitised by allow-list, code blocks highlighted like Markdown fences."""
        q = inline(sanitize(clean_text(question.question), self.media), self.media)
        a = sanitize(clean_text(question.answer), self.media)
        out: dict[Scheme, Rendered] = {}
        for scheme in (s for s in schemes if s.is_html):
            portable = scheme is Scheme.PORTABLE

            def fmt(code: str, lang: str, portable: bool = portable) -> str:
                return self.highlighter.format(code, lang, self.highlighter.tokens(code, lang), portable=portable)

            out[scheme] = Rendered(replace_code_blocks(q, fmt), replace_code_blocks(a, fmt))
        if Scheme.PLAIN in schemes:
            out[Scheme.PLAIN] = Rendered(to_text(q), to_text(a))
        if Scheme.NONE in schemes:
            out[Scheme.NONE] = Rendered(question.question, question.answer)
        return out

    def render(self, question: Question, schemes: Sequence[Scheme]) -> dict[Scheme, Rendered]:
        if question.format is ContentFormat.HTML:
            return self._html(question, schemes)
        out: dict[Scheme, Rendered] = {}
        html = [s for s in schemes if s.is_html]
        if html:
            q = self.markdown.render_inline(question.question, html)
            a = self.markdown.render(question.answer, html)
            out.update({s: Rendered(q[s], a[s]) for s in html})
        if Scheme.PLAIN in schemes:  # Markdown is readable as it is written
            out[Scheme.PLAIN] = Rendered(clean_text(question.question), clean_text(question.answer))
        if Scheme.NONE in schemes:
            out[Scheme.NONE] = Rendered(question.question, question.answer)
        return out


_worker: tuple[TextRenderer, tuple[Scheme, ...]] | None = None


def _init_worker(theme: str, night: str | None, schemes: tuple[Scheme, ...], media: frozenset[str]) -> None:
    global _worker
    _worker = (TextRenderer(Highlighter(theme, night), media), schemes)


def _render_many(questions: list[Question]) -> list[tuple[str, dict[Scheme, Rendered]]]:
    assert _worker is not None
    renderer, schemes = _worker
    return [(q.key, renderer.render(q, schemes)) for q in questions]


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def render_library(
    library: Library,
    highlighter: Highlighter,
    schemes: Sequence[Scheme] = (Scheme.COMPACT,),
    advance: Callable[[int], None] = lambda n: None,
    workers: int | None = None,
) -> RenderedBank:
    """Render every question once, in each scheme asked for, keyed by scheme then stable key.
    Large banks use all cores."""
    schemes = tuple(dict.fromkeys(schemes))
    questions = [r.question for r in library.questions()]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    media = frozenset(library.media)
    renderer = TextRenderer(highlighter, media)
    out: RenderedBank = {s: {} for s in schemes}

    def store(key: str, texts: dict[Scheme, Rendered]) -> None:
        for scheme, text in texts.items():
            out[scheme][key] = text

    def render_here(chunk: list[Question]) -> None:
        for q in chunk:
            store(q.key, renderer.render(q, schemes))
        advance(len(chunk))

    needs_work = any(s is not Scheme.NONE for s in schemes)
    if workers < 2 or len(questions) < POOL_THRESHOLD or not needs_work:
        render_here(questions)
        return out
    # Import the lexers once here, before the fork, instead of once in every worker.
    for lang in {m for q in questions for m in _FENCE_LANG.findall(q.answer)}:
        highlighter.lexer(lang)
    names = [t.name for t in highlighter.themes]
    night = names[1] if len(names) > 1 else None
    size = max(25, min(200, len(questions) // (workers * 4) + 1))  # small enough to balance the cores
    chunks = list(_chunks(questions, size))
    # This process is one of the workers: it renders every n-th chunk while the pool does the rest.
    with ProcessPoolExecutor(max_workers=workers - 1, initializer=_init_worker,
                             initargs=(names[0], night, schemes, media)) as pool:
        pending = [pool.submit(_render_many, c) for i, c in enumerate(chunks) if i % workers]
        for chunk in chunks[::workers]:
            render_here(chunk)
        for future in pending:
            done = future.result()
            for key, texts in done:
                store(key, texts)
            advance(len(done))
    # Keep the library's order whatever order the chunks finished in.
    return {s: {q.key: out[s][q.key] for q in questions} for s in schemes}
