"""WeasyPrint layout, isolated: nothing fetched but the library's own media, progress from WeasyPrint's log,
run in a child process."""

from __future__ import annotations

import logging
import multiprocessing
import re
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.logger import PROGRESS_LOGGER
from weasyprint.urls import URLFetcher, URLFetcherResponse

from ..errors import OutputError
from ..model import Media

#: Base URL of the document: relative ``src="NAME"`` of library media resolve below it. The ``.invalid``
#: top-level domain can never resolve, and the fetcher never goes to the network anyway.
MEDIA_BASE = "https://media.qaexport.invalid/"


class RefusingFetcher(URLFetcher):
    """Fetch nothing: no network, no local files, whatever the content asks for."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=())

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise ValueError(f"qaexport does not fetch resources ({url[:60]})")


class MediaFetcher(RefusingFetcher):
    """Serve the library's media by exact name below :data:`MEDIA_BASE`; refuse everything else."""

    def __init__(self, media: dict[str, Media]) -> None:
        super().__init__()
        self.media = media

    def fetch(self, url: str, headers: Any = None) -> Any:
        name = url.removeprefix(MEDIA_BASE) if url.startswith(MEDIA_BASE) else None
        item = self.media.get(name) if name else None
        if item is None:
            return super().fetch(url, headers)
        return URLFetcherResponse(url, body=item.data, headers={"Content-Type": item.mime})


class _StepProgress(logging.Handler):
    """Turns WeasyPrint's progress log ("Step N - ...") into one call per new step."""

    def __init__(self, on_step: Callable[[int], None]) -> None:
        super().__init__(logging.INFO)
        self.on_step = on_step
        self.seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        step = re.match(r"Step (\d)", str(record.msg))
        if step and step.group(1) not in self.seen:
            self.seen.add(step.group(1))
            self.on_step(int(step.group(1)))



def write_pdf(html: str, css: str, identifier: str, target: Path, on_step: Callable[[int], None],
              media: dict[str, Media] | None = None) -> None:
    """Lay out and write; ``pdf_identifier`` from the content keeps rebuilds byte-identical."""
    handler = _StepProgress(on_step)
    PROGRESS_LOGGER.addHandler(handler)
    old_level = PROGRESS_LOGGER.level
    PROGRESS_LOGGER.setLevel(logging.INFO)
    try:
        fetcher = MediaFetcher(media) if media else RefusingFetcher()
        document = HTML(string=html, url_fetcher=fetcher, base_url=MEDIA_BASE if media else None).render(
            stylesheets=[CSS(string=css, url_fetcher=fetcher)])
        document.write_pdf(target, pdf_identifier=identifier.encode())
    finally:
        PROGRESS_LOGGER.removeHandler(handler)
        PROGRESS_LOGGER.setLevel(old_level)


def _child(conn: Connection, html: str, css: str, identifier: str, target: str,
           media: dict[str, Media] | None = None) -> None:
    try:
        write_pdf(html, css, identifier, Path(target), lambda step: conn.send(("step", step)), media)
        conn.send(("done", None))
    except KeyboardInterrupt:
        conn.send(("interrupted", None))
    except Exception as exc:  # reported by the parent as one line
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        logging.getLogger(__name__).debug(traceback.format_exc())
    finally:
        conn.close()


def layout_in_child(html: str, css: str, identifier: str, target: Path, advance: Callable[[int], None],
                    label: str = "", media: dict[str, Media] | None = None) -> None:
    """Run the layout in a forked child so its memory (hundreds of MiB for big books) is freed after."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, html, css, identifier, str(target), media),
                       daemon=True)
    proc.start()
    child.close()
    outcome: tuple[str, Any] = ("error", "the layout process ended without a result")
    try:
        while True:
            try:
                kind, value = parent.recv()
            except EOFError:
                break
            if kind == "step":
                advance(1)
                continue
            outcome = (kind, value)
            break
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM, SIGHUP) or failed here: the child must not outlive us and go on
        # writing the temp file that the caller is about to remove.
        proc.kill()
        raise
    finally:
        proc.join()
        parent.close()
    kind, value = outcome
    if kind == "interrupted":
        raise KeyboardInterrupt
    if kind == "error":
        raise OutputError(f"{label or target}: PDF layout failed ({value}); nothing was written")
