"""Shared rendering, done once per run: every exporter reuses the same HTML and theme CSS.

``render_library`` renders every question once in each scheme the run's exporters declared
and hands each exporter the texts of its own scheme; exporters never see content formats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, partial
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..model import ContentFormat, Library, Question
from .schemes import DEFAULT_NIGHT_THEME, DEFAULT_THEME, Scheme

if TYPE_CHECKING:
    from .cache import RenderCache
    from .highlight import Highlighter, available_themes
    from .markdown import MarkdownRenderer

__all__ = [
    "DEFAULT_NIGHT_THEME", "DEFAULT_THEME", "Highlighter", "MarkdownRenderer", "RenderCache",
    "Rendered", "Scheme", "TextRenderer", "available_themes", "render_library",
]

# Markdown-it, Pygments and nh3 load when something renders, not when `--help` or `validate` starts.
_LAZY = {"Highlighter": "highlight", "available_themes": "highlight", "MarkdownRenderer": "markdown",
         "RenderCache": "cache"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The block elements the renderer and the sanitiser can open a text with.
_BLOCK_START = re.compile(r"<(?:p|pre|ul|ol|blockquote|table|h[1-6]|hr|div|dl|figure)[\s>/]")
#: Below this many questions rendering in children costs more than it saves.
POOL_THRESHOLD = 200
#: Most questions in a chunk of work: small enough that no core waits long for another at the end.
CHUNK = 50
#: Chunks this process renders before it forks the others (see ``_render_all``) when the lexers' patterns are not in
#: the store (``patterns.held``): in the 560-question benchmark book, one chunk left the child compiling 22 of the 60
#: joined patterns, three left it none.
WARM_CHUNKS = 3


@dataclass(frozen=True)
class Rendered:
    """A question and its answer in one scheme (HTML fragments, or plain text for ``PLAIN``)."""

    question: str  # inline, or block when the question has several paragraphs (see ``heading_and_rest``)
    answer: str  # block

    def heading_and_rest(self) -> tuple[str, str]:
        """The question as a heading can hold it: (inline HTML for the heading, block HTML that follows it).

        A question is a heading while it is one paragraph of inline text (``("text", "")``). A question of
        several blocks (a ```` ```question ```` fence) keeps its first paragraph as the heading and the rest as
        blocks; one that opens with something else (a list, code) has no heading text (``("", blocks)``).
        Only ever run on the renderer's own HTML, where a paragraph's inline HTML never holds ``</p>``.
        """
        html = self.question.strip()
        if not _BLOCK_START.match(html):
            return self.question, ""
        if html.startswith("<p>"):
            first, _, rest = html[3:].partition("</p>")
            return first, rest.strip()
        return "", html


RenderedBank = dict[Scheme, dict[str, Rendered]]


class TextRenderer:
    """Dispatches each text on its declared content format; the one entry point for rendering."""

    def __init__(self, highlighter: Highlighter, media: frozenset[str] = frozenset()) -> None:
        from .markdown import MarkdownRenderer

        self.markdown = MarkdownRenderer(highlighter)
        self.highlighter = highlighter
        self.media = set(media)  # the library's media names: the only images HTML content may show

    def __reduce__(self) -> tuple:
        """Pickled (to a spawned child) as what it is made from; the parsers are made again there."""
        return (TextRenderer, (self.highlighter, frozenset(self.media)))

    def _html(self, question: Question, schemes: Sequence[Scheme]) -> dict[Scheme, Rendered]:
        """Untrusted HTML (Anki cards): sanitised by allow-list, code blocks highlighted like Markdown fences."""
        from ..characters import clean_text
        from ..formats.html import demote_headings, inline, replace_code_blocks, sanitize, to_text
        from .cloze import html_cloze
        from .markdown import ANSWER_TOP_LEVEL
        from .math import html_formulas

        a = sanitize(clean_text(question.answer), self.media)  # as assemble cleaned it (qaexport.characters)
        if question.cloze:
            full = sanitize(clean_text(question.question), self.media)
            views = html_cloze(full)
            q, filled = inline(views.blanked, self.media), views.filled
        else:
            q, filled = inline(sanitize(clean_text(question.question), self.media), self.media), ""
        out: dict[Scheme, Rendered] = {}
        for scheme in (s for s in schemes if s.is_html):
            portable = scheme is Scheme.PORTABLE

            def fmt(code: str, lang: str, portable: bool = portable) -> str:
                return self.highlighter.format(code, lang, self.highlighter.tokens(code, lang), portable=portable)

            def show(text: str, scheme: Scheme = scheme) -> str:
                return html_formulas(replace_code_blocks(text, fmt), scheme)

            # Books place the answer's headings under the question's (Anki keeps the card's own levels).
            answer = demote_headings(a, ANSWER_TOP_LEVEL) if scheme is Scheme.COMPACT else a
            if question.cloze and portable:
                out[scheme] = Rendered(show(views.anki), show(answer))
            elif question.cloze:
                out[scheme] = Rendered(show(q), f'<div class="cloze-text">{show(filled)}</div>\n' + show(answer))
            else:
                out[scheme] = Rendered(show(q), show(answer))
        if Scheme.PLAIN in schemes:
            out[Scheme.PLAIN] = Rendered(to_text(q), to_text(filled + " " + a if filled else a))
        if Scheme.NONE in schemes:
            out[Scheme.NONE] = Rendered(question.question, question.answer)
        return out

    def render(self, question: Question, schemes: Sequence[Scheme]) -> dict[Scheme, Rendered]:
        """A question in each scheme. A cloze's question is its text with the deletions blanked and its answer the
        text filled in (then the extra answer text, if any); for Anki (PORTABLE) the question is the text in
        Anki's cloze syntax and the answer the extra text alone (the note type shows the rest)."""
        if question.format is ContentFormat.HTML:
            return self._html(question, schemes)
        out: dict[Scheme, Rendered] = {}
        html = [s for s in schemes if s.is_html]
        images = question.images
        if html and question.cloze:
            texts = self.markdown.render_cloze(question.question, html, images)
            extra = self.markdown.render(question.answer, html, images) if question.answer.strip() else {}
            out.update({s: Rendered(texts[s][0], texts[s][1] + extra.get(s, "")) for s in html})
        elif html:
            q = self.markdown.render_inline(question.question, html, images)
            a = self.markdown.render(question.answer, html, images)
            out.update({s: Rendered(q[s], a[s]) for s in html})
        if Scheme.PLAIN in schemes:  # Markdown is readable as it is written
            if question.cloze:
                out[Scheme.PLAIN] = self._plain_cloze(question)
            else:
                out[Scheme.PLAIN] = Rendered(question.question, question.answer)
        if Scheme.NONE in schemes:
            out[Scheme.NONE] = Rendered(question.question, question.answer)
        return out

    def _plain_cloze(self, question: Question) -> Rendered:
        from ..formats.html import to_text

        texts = self.markdown.render_cloze(question.question, [Scheme.COMPACT], question.images,
                                           math_as_source=True)[Scheme.COMPACT]
        extra = f"\n\n{question.answer}" if question.answer.strip() else ""
        return Rendered(to_text(texts[0]), to_text(texts[1]) + extra)


#: A fence that opens a block of code in a language (its backticks or tildes, the language).
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([\w+#.-]+)[^\n]*\n", re.M)


@cache
def _fence_close(fence: str) -> re.Pattern[str]:
    """Where a block opened by ``fence`` ends: a line that starts with it (up to three spaces before)."""
    return re.compile(r"^ {0,3}" + re.escape(fence), re.M)


def code_chars(questions: list[Question]) -> dict[str, int]:
    """Characters of fenced code per language in the answers: what the highlighter is about to lex (a block not
    closed runs to the end of its text). Each block's end is searched for from its start, not reached by a lazy
    ``.*?`` that tries the closing fence at every character (half the time; this runs before the rendering fork)."""
    out: dict[str, int] = {}
    for q in questions:
        text = q.answer
        if "``" in text or "~~" in text:
            at = 0
            while (opened := _FENCE_OPEN.search(text, at)) is not None:
                start = opened.end()
                closed = _fence_close(opened.group(1)).search(text, start)
                end = len(text) if closed is None else closed.start()
                out[opened.group(2)] = out.get(opened.group(2), 0) + end - start
                if closed is None:
                    break
                at = closed.end()
    return out


def _kind(question: Question) -> str:
    """What besides its texts decides a question's HTML: its content format, whether it is a cloze, and which
    media each of its image references shows (part of its render-cache key)."""
    images = "".join(f"\0{ref}\0{name}" for ref, name in sorted(question.images.items()))
    return f"{question.format}{'+cloze' if question.cloze else ''}{images}"


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def render_library(
    library: Library,
    highlighter: Highlighter,
    schemes: Sequence[Scheme] = (Scheme.COMPACT,),
    advance: Callable[[int], None] = lambda n: None,
    workers: int | None = None,
    cache: RenderCache | None = None,
    meanwhile: Callable[[], None] = lambda: None,
) -> RenderedBank:
    """Render every question once, in each scheme asked for, keyed by scheme then stable key.
    HTML found in ``cache`` is not rendered again; what is rendered is stored there. Large banks use all cores.
    ``meanwhile()`` runs once, while children render when there are any (then this process renders less)."""
    schemes = tuple(dict.fromkeys(schemes))
    questions = [r.question for r in library.questions()]
    media = frozenset(library.media)
    renderer = TextRenderer(highlighter, media)
    out: RenderedBank = {s: {} for s in schemes}
    html_schemes = [s for s in schemes if s.is_html]
    todo, keys = questions, {}
    if cache is not None and html_schemes and cache.finds_nothing():
        # A new or emptied cache (a first run, or a cold one): nothing to look up, so the keys, needed only to store
        # the texts, are made while the texts render, not before the rendering forks (~10 ms on its critical path).
        before = meanwhile

        def meanwhile() -> None:
            before()
            keys.update(_keys(questions, renderer, html_schemes))
            cache.stats.misses += len({k for ks in keys.values() for k in ks.values()})
    elif cache is not None and html_schemes:
        todo, keys = _from_cache(questions, cache, renderer, schemes, out)
        advance(len(questions) - len(todo))
    _render_all(todo, renderer, schemes, out, advance, workers, meanwhile)
    if cache is not None and html_schemes and todo:
        cache.put_many({keys[q.key][s]: (out[s][q.key].question, out[s][q.key].answer)
                        for q in todo for s in html_schemes})
    # Keep the library's order whatever order the chunks finished in.
    return {s: {q.key: out[s][q.key] for q in questions} for s in schemes}


def _from_cache(questions: list[Question], cache: RenderCache, renderer: TextRenderer, schemes: tuple[Scheme, ...],
                out: RenderedBank) -> tuple[list[Question], dict[str, dict[Scheme, bytes]]]:
    """Put into ``out`` every question whose HTML in every scheme is in ``cache`` (its cheap schemes rendered here);
    the questions left to render, and each question's cache key per HTML scheme.

    A key holds everything the HTML depends on: the renderer's version, the scheme's token-class mapping, the
    texts and their format, and for HTML content the library's media names (it may show the library's images)."""
    html_schemes = [s for s in schemes if s.is_html]
    keys = _keys(questions, renderer, html_schemes)
    found = cache.get_many(k for ks in keys.values() for k in ks.values())
    cheap = [s for s in schemes if not s.is_html]
    todo = []
    for q in questions:
        ks = keys[q.key]
        if all(k in found for k in ks.values()):
            for s, k in ks.items():
                out[s][q.key] = Rendered(*found[k])
            for s, text in (renderer.render(q, cheap) if cheap else {}).items():
                out[s][q.key] = text
        else:
            todo.append(q)
    return todo, keys


def _keys(questions: list[Question], renderer: TextRenderer, html_schemes: list[Scheme]
          ) -> dict[str, dict[Scheme, bytes]]:
    """Each question's cache key per HTML scheme (see :func:`_from_cache`)."""
    from .cache import entry_key, renderer_version

    version = renderer_version()
    media_names = "\n".join(sorted(renderer.media))
    prefixes = {(s, f): f"{version}\n{renderer.highlighter.signature(s is Scheme.PORTABLE)}\n"
                f"{media_names if f is ContentFormat.HTML else ''}".encode()
                for s in html_schemes for f in ContentFormat}
    return {q.key: {s: entry_key(prefixes[s, q.format], _kind(q), q.question, q.answer) for s in html_schemes}
            for q in questions}


def _claim(chunks: list[list[Question]], shared: Any, from_start: bool) -> list[Question] | None:
    """The next unclaimed chunk, from the start (children) or the end (this process); None when none is left."""
    with shared.get_lock():
        if shared[0] >= shared[1]:
            return None
        if from_start:
            shared[0] += 1
            return chunks[shared[0] - 1]
        shared[1] -= 1
        return chunks[shared[1]]


def _render_claimed(chunks: list[list[Question]], shared: Any, renderer: TextRenderer, schemes: tuple[Scheme, ...],
                    _report: Callable[[object], None]) -> list[tuple[str, dict[Scheme, Rendered]]]:
    """A child's work: chunks claimed from the start until none is left, sent back once at the end."""
    done = []
    while (chunk := _claim(chunks, shared, True)) is not None:
        done += [(q.key, renderer.render(q, schemes)) for q in chunk]
        with shared.get_lock():
            shared[2] += len(chunk)
    return done


def _render_all(questions: list[Question], renderer: TextRenderer, schemes: tuple[Scheme, ...],
                out: RenderedBank, advance: Callable[[int], None], workers: int | None,
                meanwhile: Callable[[], None] = lambda: None) -> None:
    """Render ``questions`` into ``out``; on several cores, in forked children beside this process.

    The questions and the renderer reach the children by the fork (nothing is pickled on the way in; where children
    are spawned, they are pickled, the renderer as its highlighter's themes and the media names). The work is
    cut into small chunks claimed from a shared counter: the children take them from the start, this process from
    the end, so every core is busy until the last chunk whatever each one's speed. A child sends everything it
    rendered once, at its end: sent piecemeal, its results would wait on this process, busy rendering, to read them.
    """
    if workers is None:
        from ..forked import cores

        workers = cores()

    def store(key: str, texts: dict[Scheme, Rendered]) -> None:
        for scheme, text in texts.items():
            out[scheme][key] = text

    def render_here(chunk: list[Question]) -> None:
        for q in chunk:
            store(q.key, renderer.render(q, schemes))
        advance(len(chunk))

    needs_work = any(s is not Scheme.NONE for s in schemes)
    alone = workers < 2 or len(questions) < POOL_THRESHOLD or not needs_work
    processes = 1 if alone else workers
    renderer.highlighter.expect({lang: chars // processes for lang, chars in code_chars(questions).items()})
    if alone:
        meanwhile()
        render_here(questions)
        return
    from ..forked import Children, process_context

    chunks = list(_chunks(questions, max(4, min(CHUNK, len(questions) // (workers * 25) + 1))))
    # [next chunk from the start, end of the unclaimed chunks, questions the children have rendered]
    shared = process_context().Array("q", [0, len(chunks), 0])
    child = partial(_render_claimed, chunks, shared, renderer, schemes)

    told = 0

    def tell_children_progress() -> None:
        nonlocal told
        now = shared[2]
        if now > told:
            advance(now - told)
            told = now

    # A few chunks rendered here before the fork: the lexers they look up, the modules those import and the joined
    # patterns they compile (lexing.py) reach the children by the fork instead of being made again in each. Not when
    # the patterns are in the store (patterns.py): a child builds them from their code as cheaply as this process,
    # while this process prepares the exporters; the store, loaded here, reaches it by the fork.
    from . import patterns

    for _ in range(0 if patterns.held() else WARM_CHUNKS):
        if (chunk := _claim(chunks, shared, False)) is not None:
            render_here(chunk)
    with Children(lambda _index, _value: None, lambda cause: f"rendering failed ({cause}); nothing was written"
                  ) as group:
        for _ in range(workers - 1):
            group.start(child)
        meanwhile()  # the children take the chunks this process would have rendered meanwhile
        while (chunk := _claim(chunks, shared, False)) is not None:
            render_here(chunk)
            tell_children_progress()
        for _index, done in group.finished():
            for key, texts in done:
                store(key, texts)
        tell_children_progress()
