"""The web application of ``qaexport serve`` (Starlette): the site's pages made from the live bank, each
question's Anki card and booklet picture, and a server-sent event stream that tells open pages to reload.

Every response is made from the current :class:`~.bank.Snapshot`, so a page is never half old, half new. Pages
carry the bank's version; ``live.js`` reloads a page when the stream announces a newer one. Nothing here runs
content: the card documents have no script at all, and every page has a Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from ..books.html import for_reader
from ..errors import QaexportError
from ..exporters import Build
from ..exporters.anki import card_numbers, card_sides, note_type_parts
from ..exporters.site import CSP, Live, Site, SiteOptions
from ..model import QuestionRef
from ..render import Scheme
from ..render.math import typeset
from ..templates import asset, environment
from .bank import LiveBank, Snapshot
from .booklet import Booklet

#: The preview page shows the card documents in frames; as a header, the policy also keeps pages out of others'
#: frames (``frame-ancestors`` works only there).
PREVIEW_CSP = CSP + "; frame-src 'self'"
PAGE_CSP = PREVIEW_CSP + "; frame-ancestors 'self'"
CARD_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'self'; frame-ancestors 'self'"
#: Seconds between the stream's keep-alive comments (a proxy or the browser would drop a silent stream).
KEEP_ALIVE = 15.0
CARD_WIDTHS = {"phone": 360, "desktop": 800}
_SIDE = re.compile(r"^(front|back)$")
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".js": "text/javascript; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
          ".gif": "image/gif", ".webp": "image/webp", ".svg": "image/svg+xml"}
#: A formula as the Anki note holds it (``render/math.live``): typeset here, since the card frames run no script.
_LIVE_FORMULA = re.compile(r'<span class="math( display)?">\\[(\[](.*?)\\[)\]]</span>', re.S)


def typeset_live(card_html: str) -> str:
    """The card's formulas as MathML (what Anki's MathJax would draw): the frames run no script at all."""
    return _LIVE_FORMULA.sub(lambda m: for_reader(typeset(html.unescape(m.group(2)), bool(m.group(1)))), card_html)


@dataclass
class Served:
    """What the application serves from, shared with the server that watches the files."""

    bank: LiveBank
    options: SiteOptions
    time: float
    booklet: Booklet
    changed: asyncio.Event  # set (and replaced) on every new version
    stopping: asyncio.Event  # set when the server is asked to stop: event streams end

    def announce(self) -> None:
        """Wake every event stream: a new version is out."""
        old, self.changed = self.changed, asyncio.Event()
        old.set()


def _headers(csp: str) -> dict[str, str]:
    return {"Content-Security-Policy": csp, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}


def _site(served: Served, snapshot: Snapshot) -> Site:
    build = Build(snapshot.library, snapshot.rendered[Scheme.COMPACT], served.bank.highlighter, served.time)
    return Site(build, served.options, Live(snapshot.version, snapshot.problems, snapshot.warnings))


def _find(snapshot: Snapshot, key: str) -> QuestionRef | None:
    return next((ref for ref in snapshot.library.questions() if ref.question.key == key), None)


#: At most this many pages a "not found" page offers instead (a topic's subtopics; a bank may have thousands).
NEARBY_PAGES = 20


def _not_found(what: str, version: int | None = None, nearby: list[str] | None = None) -> HTMLResponse:
    """A 404 page. Given the bank's ``version``, it carries ``live.js`` as the site's pages do: a page whose path
    went away as it was open (a renamed subtopic, a changed slug) reloads when the bank next changes, and comes back
    if the author undoes the rename. ``nearby``: the pages in the same folder now, offered as links."""
    links = "".join(f'<li><a href="/{Markup.escape(path)}">{Markup.escape(path)}</a></li>'
                    for path in (nearby or [])[:NEARBY_PAGES])
    offered = f"<p>Pages beside it now:</p><ul>{links}</ul>" if links else ""
    live = (f'<script src="/__serve__/live.js" data-version="{version}" defer></script>'
            if version is not None else "")
    body = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Not found</title>{live}</head><body>'
            f'<main><h1>Not found</h1><p>{Markup.escape(what)}</p>{offered}<p><a href="/index.html">Contents</a></p>'
            "</main></body></html>")
    return HTMLResponse(body, status_code=404, headers=_headers(CSP))


def make_app(served: Served) -> Starlette:
    """The application; ``served`` is read afresh on every request."""

    def site_file(request: Request) -> Response:
        path = request.path_params["path"] or "index.html"
        snapshot = served.bank.snapshot
        site = _site(served, snapshot)
        data = site.file(path)
        if data is None:
            folder = path.rpartition("/")[0]
            nearby = [page.path for page in site.subtopics if page.path.rpartition("/")[0] == folder]
            return _not_found(f"{path} is not a page of this bank (any more: a renamed subtopic or a changed slug "
                              "moves its page).", snapshot.version, nearby)
        suffix = path[path.rfind("."):].lower() if "." in path else ""
        return Response(data, media_type=_TYPES.get(suffix, "application/octet-stream"), headers=_headers(PAGE_CSP))

    def script(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("live.js", "preview.js", "preview.css"):
            return _not_found(name)
        return Response(asset("serve", name), media_type=_TYPES[name[name.rfind("."):]], headers=_headers(PAGE_CSP))

    async def events(request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            yield "retry: 500\n\n"
            while True:
                changed = served.changed  # taken before the version is read: no announcement is missed
                yield f"event: version\ndata: {served.bank.snapshot.version}\n\n"
                waiters = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(served.stopping.wait())]
                done, pending = await asyncio.wait(waiters, timeout=KEEP_ALIVE, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                if served.stopping.is_set() or await request.is_disconnected():
                    return
                if not done:
                    yield ": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers=_headers(CSP))

    def question(request: Request) -> Response:
        snapshot = served.bank.snapshot
        ref = _find(snapshot, request.path_params["key"])
        if ref is None:
            return _not_found(f"No question has the key {request.path_params['key']!r} (any more).", snapshot.version)
        site = _site(served, snapshot)
        rendered = snapshot.rendered[Scheme.COMPACT][ref.question.key]
        portable = Build(snapshot.library, snapshot.rendered[Scheme.PORTABLE], served.bank.highlighter, served.time)
        heading, rest = rendered.heading_and_rest()
        page = site.render_page("preview.html", "preview", "/", {
            "ref": ref, "heading": Markup(site.html(heading, "/")), "rest": Markup(site.html(rest, "/")),
            "back": f"/{ref.framework.slug}/{ref.topic.slug}/{ref.subtopic.slug}.html#q-{ref.question.id}",
            "views": [(width, night) for width in CARD_WIDTHS for night in (False, True)], "widths": CARD_WIDTHS,
            "cards": card_numbers(portable, ref),
            "picture": served.booklet.identity(ref, rendered)}, title=f"Preview of {ref.question.id}", csp=PREVIEW_CSP)
        return HTMLResponse(page, headers=_headers(PAGE_CSP))

    def card(request: Request) -> Response:
        snapshot = served.bank.snapshot
        side = request.path_params["side"]
        ref = _find(snapshot, request.path_params["key"])
        if ref is None or not _SIDE.match(side):
            return _not_found("No such card.")
        build = Build(snapshot.library, snapshot.rendered[Scheme.PORTABLE], served.bank.highlighter, served.time)
        number = request.query_params.get("card", "1")
        if not number.isdigit() or int(number) not in card_numbers(build, ref):
            return _not_found("No such card.")
        _css, front, back = card_sides(build, ref, int(number))
        night = " nightMode night_mode" if request.query_params.get("night") == "1" else ""
        page = environment("serve").get_template("card.html").render(
            side=Markup(typeset_live(front if side == "front" else back)), night=night, number=int(number),
            title=f"Anki card {number}, {side}")
        return HTMLResponse(page, headers=_headers(CARD_CSP))

    def card_css(_request: Request) -> Response:
        snapshot = served.bank.snapshot
        build = Build(snapshot.library, snapshot.rendered[Scheme.PORTABLE], served.bank.highlighter, served.time)
        return Response(note_type_parts(build)[0], media_type=_TYPES[".css"], headers=_headers(CARD_CSP))

    def media(request: Request) -> Response:
        item = served.bank.snapshot.library.media.get(request.path_params["name"])
        if item is None:
            return _not_found("No such image.")
        return Response(item.data, media_type=item.mime, headers=_headers(CARD_CSP))

    async def booklet(request: Request) -> Response:
        snapshot = served.bank.snapshot
        ref = _find(snapshot, request.path_params["key"])
        if ref is None:
            return _not_found("No such question.")
        rendered = snapshot.rendered[Scheme.COMPACT][ref.question.key]
        try:
            picture = await run_in_threadpool(served.booklet.png, ref, snapshot.library, rendered)
        except QaexportError as exc:  # the layout failed: say why in one line, as the pdf command would
            return Response(f"{exc}\n", status_code=500, media_type="text/plain; charset=utf-8",
                            headers=_headers(CARD_CSP))
        return Response(picture, media_type="image/png", headers=_headers(CARD_CSP))

    def home(_request: Request) -> Response:
        return RedirectResponse("/index.html")

    def no_icon(_request: Request) -> Response:
        return Response(status_code=204, headers=_headers(CARD_CSP))  # browsers ask; the site has none

    routes: list[Any] = [
        Route("/", home),
        Route("/favicon.ico", no_icon),
        Route("/__serve__/events", events),
        Route("/__serve__/question/{key:path}", question),
        Route("/__serve__/card/{side}/{key:path}", card),
        Route("/__serve__/card.css", card_css),
        Route("/__serve__/media/{name}", media),
        Route("/__serve__/booklet/{key:path}.png", booklet),
        Route("/__serve__/{name}", script),
        Route("/{path:path}", site_file),
    ]
    return Starlette(routes=routes)

