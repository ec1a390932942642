"""Shared rendering, done once per run: every exporter reuses the same HTML and theme CSS."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ..model import Library
from .highlight import DEFAULT_NIGHT_THEME, DEFAULT_THEME, Highlighter, available_themes
from .markdown import Html, MarkdownRenderer, clean_text

__all__ = [
    "DEFAULT_NIGHT_THEME", "DEFAULT_THEME", "Highlighter", "Html", "MarkdownRenderer", "Rendered",
    "available_themes", "clean_text", "render_library",
]

_FENCE_LANG = re.compile(r"^ {0,3}(?:```|~~~)[ \t]*([\w+#.-]+)", re.M)

#: Below this many questions a process pool costs more than it saves (measured: ~0.1 s to start).
POOL_THRESHOLD = 200


@dataclass(frozen=True)
class Rendered:
    """A question's HTML, compact classes for books and portable classes for Anki notes."""

    question_html: Html  # inline
    answer_html: Html  # block

    @property
    def question(self) -> str:
        """Compact-scheme HTML (books)."""
        assert self.question_html.compact is not None, "rendered without the compact scheme"
        return self.question_html.compact

    @property
    def answer(self) -> str:
        assert self.answer_html.compact is not None, "rendered without the compact scheme"
        return self.answer_html.compact

    @property
    def has_code(self) -> bool:
        return self.answer_html.has_code


_worker_renderer: MarkdownRenderer | None = None


def _init_worker(theme: str, night: str | None, schemes: tuple[bool, bool]) -> None:
    global _worker_renderer
    _worker_renderer = MarkdownRenderer(Highlighter(theme, night), *schemes)


def _render_many(items: list[tuple[str, str, str]]) -> list[tuple[str, Rendered]]:
    assert _worker_renderer is not None
    return [(key, _render_one(_worker_renderer, q, a)) for key, q, a in items]


def _render_one(renderer: MarkdownRenderer, question: str, answer: str) -> Rendered:
    return Rendered(renderer.render_inline(question), renderer.render(answer))


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def render_library(
    library: Library,
    highlighter: Highlighter,
    advance: Callable[[int], None] = lambda n: None,
    workers: int | None = None,
    compact: bool = True,
    portable: bool = True,
) -> dict[str, Rendered]:
    """Render every question once, keyed by its stable key, in the class schemes asked for
    (compact for books, portable for Anki); large banks use all cores."""
    items = [(r.question.key, r.question.question, r.question.answer) for r in library.questions()]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    renderer = MarkdownRenderer(highlighter, compact, portable)
    out: dict[str, Rendered] = {}

    def render_here(chunk: list[tuple[str, str, str]]) -> None:
        for key, q, a in chunk:
            out[key] = _render_one(renderer, q, a)
        advance(len(chunk))

    if workers < 2 or len(items) < POOL_THRESHOLD:
        render_here(items)
        return out
    # Import the lexers once here, before the fork, instead of once in every worker.
    for lang in {m for _, _, a in items for m in _FENCE_LANG.findall(a)}:
        highlighter.lexer(lang)
    names = [t.name for t in highlighter.themes]
    night = names[1] if len(names) > 1 else None
    size = max(25, min(200, len(items) // (workers * 4) + 1))  # small enough to balance the cores
    chunks = list(_chunks(items, size))
    # This process is one of the workers: it renders every n-th chunk while the pool does the rest.
    with ProcessPoolExecutor(max_workers=workers - 1, initializer=_init_worker,
                             initargs=(names[0], night, (compact, portable))) as pool:
        pending = [pool.submit(_render_many, c) for i, c in enumerate(chunks) if i % workers]
        for chunk in chunks[::workers]:
            render_here(chunk)
        for future in pending:
            done = future.result()
            out.update(done)
            advance(len(done))
    return out
