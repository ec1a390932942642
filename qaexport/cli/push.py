"""``qaexport push``: the bank into a running Anki through AnkiConnect (``exporters/anki/push.py`` does the work).

The command takes what ``anki`` takes (sources, filters, ``--theme``, ``--deck-name``, ``--flat``; the deck layout
from the ``[anki]`` table, so both routes put notes in the same decks) and its own options (the ``[push]`` table).
The API key comes from ``--api-key`` or ``QAEXPORT_ANKICONNECT_KEY``, never from the config file (a file gets
shared), and is never printed.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import typer

from .. import stops
from ..errors import UsageError
from ..exporters import Build
from ..exporters.anki import AnkiExporter
from ..exporters.anki.connect import AnkiConnect, endpoint
from ..exporters.anki.deck import build_deck
from ..exporters.anki.push import PushCommand, Pusher, bank_scope
from .common import (
    build_time,
    err,
    filter_library,
    handle_errors,
    load_settings,
    make_highlighter,
    plugin_options,
    progress,
    read_library,
    reader_options,
    reader_params,
    say,
    state_dir,
)
from .export import _shared, _warn, render_for
from .options import specs_for, typer_params

KEY_ENV = "QAEXPORT_ANKICONNECT_KEY"
_KW = inspect.Parameter.KEYWORD_ONLY


#: The ``anki`` options that place notes (``--previous`` is about package files: not the push's business).
_LAYOUT = ("deck_name", "flat")


def _specs() -> tuple[list[Any], list[Any]]:
    layout = [spec for spec in specs_for([AnkiExporter]) if spec.field in _LAYOUT]
    return layout, specs_for([PushCommand])


@handle_errors
def push_cmd(ctx: typer.Context, **values: Any) -> None:
    """Push the bank into a running Anki (AnkiConnect add-on 2055492159): adds new notes, updates changed ones,
    moves moved ones, keeps the learner's edits and tags; nothing else in the collection is touched.

    Examples: qaexport push data/ --dry-run;  qaexport push bank/ --delete-missing --sync
    """
    layout_specs, push_specs = _specs()
    config = load_settings(values["config"], defer=True)
    now = build_time()
    highlighter = make_highlighter(ctx, values, config)
    layout, wrong_layout = plugin_options(ctx, AnkiExporter, layout_specs, values, config)
    options, wrong_push = plugin_options(ctx, PushCommand, push_specs, values, config)
    readers = reader_options(ctx, values, config, defer=True)
    config.raise_problems([w for w in (wrong_layout, wrong_push) if w])
    key = (values.get("api_key") or "").strip() or None
    client = AnkiConnect(endpoint(options.url, options.allow_remote), key, options.timeout)
    srcs = values["srcs"] or config.top.get("sources")
    whole = read_library(srcs, readers)
    library = filter_library(whole, values["difficulty"], values["topic"])
    reason = AnkiExporter.declines(library)
    if reason:
        raise UsageError(reason)
    rendered = render_for(library, highlighter, [AnkiExporter], values.get("no_cache", False))
    build = Build(library, rendered[AnkiExporter.scheme], highlighter, now, progress, _warn, state_dir=state_dir())
    content = build_deck(build, layout.deck_name, layout.flat)
    pusher = Pusher(build, content, options, client,
                    bank_identities={ref.question.identity for ref in whole.questions()},
                    in_scope=bank_scope(library, bool(values["topic"])), dry_run=values["dry_run"])
    try:
        report = pusher.run()
    except KeyboardInterrupt:
        err.print("interrupted; what reached Anki stays, and running the same push again finishes the job",
                  soft_wrap=True, markup=False)
        stops.said()  # the stop is said: the command's end (launch.main) says nothing more
        raise typer.Exit(130) from None
    for line in report.lines:
        say(line)
    for failure in report.failures:
        err.print(f"failed: {failure}", soft_wrap=True, emoji=False, markup=False)
    say(report.summary())
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def command() -> Any:
    """``push_cmd`` with its full signature: the shared options, the readers', the layout's and the push's."""
    layout_specs, push_specs = _specs()
    shared = [p for p in _shared(True, "") if p.name != "output"]
    params = [*shared, *reader_params(), *typer_params(layout_specs, False), *typer_params(push_specs, False),
              inspect.Parameter("api_key", _KW, default=None, annotation=Annotated[str | None, typer.Option(
                  "--api-key", envvar=KEY_ENV, show_envvar=True, show_default=False, metavar="KEY",
                  help="AnkiConnect's API key, if its config sets one (never printed).")]),
              inspect.Parameter("dry_run", _KW, default=False, annotation=Annotated[bool, typer.Option(
                  "--dry-run", help="Print what would be added, updated, moved, deleted or left alone, and the "
                                    "learner's edits that would be kept; change nothing.")])]
    push_cmd.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return push_cmd
