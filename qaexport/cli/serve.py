"""``qaexport serve``: the study site of a bank, served on 127.0.0.1 while it is written, reloaded on save."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..render import DEFAULT_NIGHT_THEME, DEFAULT_THEME
from .common import (
    ConfigOpt,
    NightTheme,
    NoCache,
    Sources,
    Theme,
    build_time,
    err,
    handle_errors,
    load_settings,
    make_highlighter,
    plugin_options,
    plural,
    reader_options,
    render_cache,
    say,
    source_paths,
)
from .options import specs_for

PortOpt = Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1. Default: 8000, or a free one when "
                                                           "8000 is taken.", show_default=False)]
OpenOpt = Annotated[bool, typer.Option("--open", help="Open the site in the default web browser.")]
AllowHostOpt = Annotated[list[str] | None, typer.Option(
    "--allow-host", metavar="NAME", show_default=False,
    help="Also answer requests naming this host (an alias of 127.0.0.1 in /etc/hosts), with serve's port; "
         "repeatable; allow_host in [serve] of qaexport.toml. Other names are refused (DNS rebinding).")]


@handle_errors
def serve_cmd(ctx: typer.Context, srcs: Sources = None, port: PortOpt = 0, open_browser: OpenOpt = False,
              allow_host: AllowHostOpt = None, theme: Theme = DEFAULT_THEME,
              night_theme: NightTheme = DEFAULT_NIGHT_THEME, config: ConfigOpt = None,
              no_cache: NoCache = False, **values: Any) -> None:
    """Serve the study site of SOURCES on 127.0.0.1 and reload open pages when a file is saved; every question
    also shows its Anki card (phone and desktop, day and night) and its booklet page. Ctrl-C stops.

    Example: qaexport serve bank/ --open
    """
    from ..exporters.site import SiteOptions
    from ..preview.app import Served
    from ..preview.bank import LiveBank, Reloaded
    from ..preview.booklet import Booklet
    from ..preview.options import ServeCommand
    from ..preview.server import HOST, listening_socket, run

    settings = load_settings(config, defer=True)
    values.update(theme=theme, night_theme=night_theme, allow_host=allow_host)
    highlighter = make_highlighter(ctx, values, settings)  # a wrong theme told as the other commands tell it
    served_options, wrong = plugin_options(ctx, ServeCommand, specs_for([ServeCommand]), values, settings)
    if wrong:  # [serve] allow_host checked as --allow-host is, with the file's other problems
        settings.problems.append(wrong)
    readers = reader_options(ctx, values, settings)  # every problem of the file raised here, at once
    allow = served_options.allow_host
    paths = [Path(p) for p in (srcs or settings.top.get("sources") or source_paths(None))]
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    options = SiteOptions(title=settings.value("site", "title") or "",
                          language=settings.value("site", "language") or "en")
    sock = listening_socket(port)
    bank = LiveBank(paths, readers, highlighter, lambda: render_cache(no_cache))
    start = time.monotonic()
    first = bank.reload(workers=None)
    for line in bank.snapshot.warnings:
        err.print(f"warning: {line}", soft_wrap=True, emoji=False, markup=False)
    for line in first.problems:
        err.print(f"error: {line}", soft_wrap=True, emoji=False, markup=False)
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    count = bank.snapshot.library.count()
    also = "".join(f" (also http://{name}:{sock.getsockname()[1]}/)" for name in allow)
    say(f"serving {plural(count, 'question')} from {', '.join(map(str, paths))} at {url}{also} "
        f"(read in {time.monotonic() - start:.1f} s); saved files reload open pages; Ctrl-C stops")

    def report(reloaded: Reloaded) -> None:
        for line in reloaded.warnings:
            err.print(f"warning: {line}", soft_wrap=True, emoji=False, markup=False)
        if reloaded.problems:
            for line in reloaded.problems:
                err.print(f"error: {line}", soft_wrap=True, emoji=False, markup=False)
        elif reloaded.changed:
            say(f"updated: {plural(len(reloaded.read), 'file')} read, {plural(len(reloaded.rendered), 'question')} "
                "rendered")

    def ready() -> None:
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    import asyncio

    async def main() -> None:
        served = Served(bank, options, build_time(), Booklet(highlighter, build_time()), asyncio.Event(),
                        asyncio.Event())
        await run(served, sock, report, ready, allow,
                  lambda line: err.print(f"warning: {line}", soft_wrap=True, emoji=False, markup=False))

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    say("stopped")
