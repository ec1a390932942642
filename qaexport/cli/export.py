"""One command per registered exporter, generated from its ``Options`` dataclass, plus ``all``.

Every value is resolved the same way: a flag given on the command line, else the config file
(``qaexport.toml``), else the option's default.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .. import reading, render, sources
from ..errors import SHOWN_CHARS, QaexportError, UsageError, describe_os_error
from ..exporters import Build, Exporter, Produces
from ..model import Library, slugify
from ..output import file_in_the_way, not_a_folder, tree_count, watch_writes
from ..reading import not_regular
from ..render import DEFAULT_NIGHT_THEME, DEFAULT_THEME, Scheme, render_library
from .common import (
    DEFAULT_SOURCE,
    ConfigOpt,
    DifficultyOpt,
    NightTheme,
    NoCache,
    Sources,
    Theme,
    TopicOpt,
    build_time,
    err,
    handle_errors,
    load_library,
    load_settings,
    make_highlighter,
    parse_difficulties,
    plugin_options,
    progress,
    reader_options,
    reader_params,
    refuse_writing_into_sources,
    render_cache,
    say,
    source_paths,
    state_dir,
    use_font_store,
)
from .config import CONFIG_NAME, Config
from .options import OptionSpec, specs_for, typer_params

if TYPE_CHECKING:
    from ..manifest import Manifests

DEFAULT_OUTPUT = Path(sources.DEFAULT_OUTPUT)  # a source folder skips it
_KW = inspect.Parameter.KEYWORD_ONLY


def _shared(night_mode: bool, output_help: str, themed: bool = True) -> list[inspect.Parameter]:
    params = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        inspect.Parameter("srcs", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=Sources),
        inspect.Parameter("output", _KW, default=None, annotation=Annotated[str | None, typer.Option(
            "--output", "-o", help=output_help, show_default=False, metavar="PATH")]),
    ]
    if themed:  # only offered where code is rendered (a Markdown bank is written from the source texts)
        params.append(inspect.Parameter("theme", _KW, default=DEFAULT_THEME, annotation=Theme))
    if night_mode:  # only offered where an output has a dark mode
        params.append(inspect.Parameter("night_theme", _KW, default=DEFAULT_NIGHT_THEME, annotation=NightTheme))
    params += [
        inspect.Parameter("difficulty", _KW, default=None, annotation=DifficultyOpt),
        inspect.Parameter("topic", _KW, default=None, annotation=TopicOpt),
        inspect.Parameter("config", _KW, default=None, annotation=ConfigOpt),
        inspect.Parameter("no_cache", _KW, default=False, annotation=NoCache),
    ]
    return params


def _default_stem(library: Library, difficulty: list[str] | None, topic: list[str] | None) -> str:
    """The file name of a filtered export names its filter, so it never replaces the full deck's file."""
    parts = [library.slug]
    for t in topic or ():
        # the most specific part of a slug, key prefix or pasted breadcrumb, unless the name already says it
        last = slugify(t.replace("›", "/").replace(">", "/").rstrip("/ ").rsplit("/", 1)[-1])
        if last and last not in library.slug.split("-") and last not in parts and last not in library.slug:
            parts.append(last)
    chosen = parse_difficulties(difficulty)
    if chosen:
        parts += [d.label if d else "unrated" for d in sorted(chosen, key=lambda d: d or 4)]
    return "-".join(p for p in parts if p)


def resolve_target(output: str | None, folder: bool, stem: str, cls: type[Exporter], several: bool) -> Path:
    """Where one exporter writes. ``-o DIR/``, an existing folder, the config's output folder, or any
    ``-o`` of ``all`` mean "NAME.SUFFIX inside it"; otherwise ``-o`` names the output itself. A file where a folder
    holding it must be (``-o README.md/x.pdf``) is said here, before anything is read, as the writing would say it
    (``output.not_a_folder``)."""
    target = _target(output, folder, stem, cls, several)
    blocking = file_in_the_way(target)
    if blocking is None and cls.produces == Produces.FOLDER and target.exists() and not target.is_dir():
        blocking = target  # the folder an exporter fills is itself a file
    if blocking is not None:
        raise UsageError(f"{_shown_output(output)}: {not_a_folder(blocking)}")
    return target


def _shown_output(output: str | None) -> str:
    """The output as the command line named it, for a message (the default folder when ``-o`` was not given)."""
    return f"-o {output}" if output is not None else f"{DEFAULT_OUTPUT}/ (the default output folder)"


def _target(output: str | None, folder: bool, stem: str, cls: type[Exporter], several: bool) -> Path:
    name = stem + cls.suffix  # a folder exporter's suffix names its folder: dist/<name>-site
    if output is None:
        return _replaceable(DEFAULT_OUTPUT / name, cls)
    path = Path(output)
    if cls.produces == Produces.FOLDER and not (folder or several):
        return path  # a folder exporter fills the folder it is given
    if folder or output.endswith(("/", "\\")) or path.is_dir() or several:
        if several and path.exists() and not path.is_dir():
            raise UsageError(f"-o {output}: is a file, but this command writes several files; give a folder "
                             f"(e.g. -o {path.parent / path.stem}/)")
        return _replaceable(path / name, cls)
    kind = "." + cls.suffix.rsplit(".", 1)[-1]  # the file type: ".pdf" for the cards' default ".cards.pdf"
    if cls.produces == Produces.FILE and path.suffix.lower() != kind:
        raise UsageError(f"-o {output}: {cls.name} writes a {kind} file; name it {path.stem}{kind} "
                         f"or give a folder ending in /")
    return _replaceable(path, cls)


def _replaceable(target: Path, cls: type[Exporter]) -> Path:
    """``target``, unless something is there that an output must not replace or read back: a named pipe or a device
    (an Anki deck reads its previous file; a pipe would block the run, ``/dev/zero`` never end)."""
    if cls.produces == Produces.FILE:
        try:
            mode = target.stat().st_mode
        except OSError:
            return target  # nothing there (or a broken link): the new file simply takes its place
        kind = not_regular(mode)
        if kind and kind != "a folder":
            via = " (through a link)" if target.is_symlink() else ""
            raise UsageError(f"-o {target}: is {kind}{via}, not a file an output may replace; choose another path")
    return target


def _written(target: Path, produces: Produces, written: dict[str, str]) -> str:
    """What an exporter wrote, told from what its contract says it produces. A folder written whole (the site) counts
    the files the build wrote (``written``: ``output.watch_writes``), not those the user keeps in it (trial11 #2); a
    folder written file by file (``--force`` into a folder holding other files), those it wrote (trial11 #4)."""
    if produces == Produces.FOLDER:
        count = tree_count(written.get(os.path.abspath(target), ""))
        if count is None:  # written file by file (a Markdown bank): those inside it, not what else it holds
            inside = os.path.join(os.path.abspath(target), "")
            count = sum(1 for path in written if path.startswith(inside)) or \
                sum(1 for p in target.rglob("*") if p.is_file())  # an exporter that writes otherwise
        return f"{target}/ ({count} file{'s' if count != 1 else ''})"
    return f"{target} ({target.stat().st_size / 1024:.0f} KiB)"


def run(ctx: typer.Context, classes: list[type[Exporter]], specs: list[OptionSpec], values: dict[str, Any]) -> None:
    """Read and render once, then run each exporter on the shared build. Every usage problem (themes, options,
    -o) is found before anything is read."""
    config = load_settings(values["config"], defer=True)  # its problems told with the options' (_chosen_options)
    several = len(classes) > 1  # `all`: -o is a folder
    now = build_time()  # the one clock, read once
    use_font_store()
    highlighter = make_highlighter(ctx, values, config)  # unknown themes fail before any reading
    readers = reader_options(ctx, values, config, defer=True)  # told with the exporters' options
    chosen = _chosen_options(ctx, classes, specs, values, config)
    output, folder = _output(values, config)
    for cls in classes:  # a wrong -o is a usage error before any reading
        resolve_target(output, folder, "name", cls, several)
    if several and not folder:
        _warn_if_named_like_a_file(output, classes)
    manifests = _manifests(classes, chosen, values, config)
    if manifests is not None and _nothing_changed(manifests, classes, output, folder, several):
        from ..forked import end_started_ahead

        end_started_ahead()  # what the command started as it began (qaexport.launch) is not needed
        return
    looked_up = _cached_builds(classes, chosen, values, config) if manifests is None else None
    difficulty, topic = values["difficulty"], values["topic"]
    warned: list[Any] = []
    with reading.watch() as (reads, listings), watch_writes() as written, _ending_started_ahead():
        if not several:  # its own command: the exporter may start what it will use before the reading
            _start_before_reading(classes[0], values["srcs"] or config.top.get("sources"))
        library = load_library(values["srcs"] or config.top.get("sources"), difficulty, topic,
                               readers, warned)
        if several:
            chosen = _not_declined(chosen, library)
        classes = [cls for cls, _ in chosen]
        rendered = render_for(library, highlighter, classes, values.get("no_cache", False))
        stem = _default_stem(library, difficulty, topic)
        targets = [resolve_target(output, folder, stem, cls, several) for cls in classes]
        for cls, target in zip(classes, targets, strict=True):
            if cls.produces == Produces.FOLDER and cls.scheme == Scheme.NONE:  # a bank, file by file (`markdown`)
                refuse_writing_into_sources("-o", target, source_paths(values["srcs"] or config.top.get("sources")))
        warn = partial(_warn_and_keep, warned)  # picklable: a spawned child of `all` gets the build
        jobs = [(cls, opts, target, Build(library, rendered[Scheme(cls.scheme)], highlighter, now, progress, warn,
                                          state_dir=state_dir(),
                                          cache_dir=None if values.get("no_cache") else _cache_folder(),
                                          time_fixed=bool(os.environ.get("SOURCE_DATE_EPOCH", "").strip()),
                                          earlier=_earlier(manifests or looked_up, target, cls)))
                for (cls, opts), target in zip(chosen, targets, strict=True)]
        if len(jobs) == 1:
            cls, opts, target, build = jobs[0]
            cls().export(build, opts, target)
            say(f"wrote {_written(target, cls.produces, written)}")
        else:
            warned += _export_at_once(jobs, written)
    if not values.get("no_cache"):  # --no-cache writes nothing in the cache folder: a deck so built is read again
        _remember_written(classes, targets)
    if manifests is not None:  # a build that warned too, marked so: never skipped, only its outputs known later
        _record(manifests, classes, chosen, config, stem, targets, reads, listings, written, bool(warned))


def _earlier(manifests: Manifests | None, target: Path, cls: type[Exporter]) -> tuple[tuple[Path, str], ...]:
    """The files earlier builds of this run key wrote beside ``target`` under another name (``Build.earlier``): the
    builds ``manifests`` loaded (at most ``manifest.KEEP_BUILDS``), only outputs of this exporter's suffix in the
    same folder, each once."""
    if manifests is None or cls.produces != Produces.FILE:
        return ()
    here = Path(os.path.abspath(target))
    found = {Path(out.path): out.digest for record in manifests.loaded for out in record.outputs
             if Path(out.path).parent == here.parent and Path(out.path) != here and out.path.endswith(cls.suffix)}
    return tuple(found.items())


def _remember_written(classes: list[type[Exporter]], targets: list[Path]) -> None:
    """The files this build wrote, kept so that a folder source holding one skips it later (``qaexport.own_files``:
    a deck written beside the bank is not read as a second copy of it). A folder written whole is skipped by its
    marker instead (the site's)."""
    from ..own_files import remember

    remember(_cache_folder(), [t for cls, t in zip(classes, targets, strict=True) if cls.produces == Produces.FILE])


def _warn_if_named_like_a_file(output: str | None, classes: list[type[Exporter]]) -> None:
    """`all -o x.pdf`: all's -o is always a folder, so one named like an output file (not there yet) is said to be
    one, rather than a folder named x.pdf appearing unannounced."""
    if output is None or Path(output).is_dir() or output.endswith(("/", "\\")):
        return
    kinds = {"." + cls.suffix.rsplit(".", 1)[-1] for cls in classes if cls.produces == Produces.FILE}
    if Path(output).suffix.lower() in kinds:
        _warn(f"-o {output}: `all` writes several files, so -o names a folder: they go into the folder {output}/ "
              "(give a folder name to silence this)")


def _start_before_reading(cls: type[Exporter], srcs: list[Path] | None) -> None:
    """``ExporterBase.start_before_reading`` with the sources that will be read (nothing when there are none:
    the reading says why)."""
    start = getattr(cls, "start_before_reading", None)
    if start is not None and (srcs or DEFAULT_SOURCE.exists()):
        start(source_paths(srcs))


@contextlib.contextmanager
def _ending_started_ahead() -> Iterator[None]:
    """A child an exporter started ahead of its work (``ExporterBase.prepare_alone``) and did not use ends with the
    build, however the build ends."""
    try:
        yield
    finally:
        from ..forked import end_started_ahead

        end_started_ahead()


def _cached_builds(classes: list[type[Exporter]], chosen: list[tuple[type[Exporter], Any]],
                   values: dict[str, Any], config: Config) -> Manifests | None:
    """With ``--no-cache``: the builds recorded for this very command built with the cache (``--no-cache`` changes
    no output), loaded only for :func:`_earlier`, to find a rename's old deck; nothing is skipped or written, and a
    record that cannot be used is passed over in silence (it only means no rename is found from it)."""
    if not any(cls.produces == Produces.FILE for cls in classes):
        return None
    manifests = _manifests(classes, chosen, {**values, "no_cache": False}, config, lambda _line: None)
    if manifests is not None:
        manifests.load()
    return manifests


def _manifests(classes: list[type[Exporter]], chosen: list[tuple[type[Exporter], Any]], values: dict[str, Any],
               config: Config, warn: Callable[[str], None] | None = None) -> Manifests | None:
    """The build manifest of this run (``qaexport.manifest``), or None with ``--no-cache``. Its key holds every value
    of the command but the output path, every exporter's options, the working folder (relative paths), the
    environment variables that decide a build (``QAEXPORT_*``, ``SOURCE_DATE_EPOCH``) and, through ``run_key``, the
    versions. A folder output takes part when it is written whole (``output.replace_tree``: the site); one written
    file by file into a folder that may hold other files (a Markdown bank) is never recorded, so it always builds."""
    if values.get("no_cache"):
        return None
    from ..manifest import Manifests, run_key

    env = {k: v for k, v in os.environ.items() if k.startswith("QAEXPORT_") or k == "SOURCE_DATE_EPOCH"}
    key = run_key({"command": [cls.name for cls in classes], "cwd": os.getcwd(), "config": str(config.path),
                   "env": env,
                   "values": {k: v for k, v in values.items() if k != "output"},
                   "options": [repr(opts) for _, opts in chosen]})
    return Manifests(_cache_folder(), key, warn or _warn)


def _outside(classes: list[type[Exporter]]) -> list[str | None]:
    """Each exporter's outside state (``ExporterBase.outside_state``); None where an exporter cannot say."""
    folder = state_dir()
    return [getattr(cls, "outside_state", lambda _folder: None)(folder) for cls in classes]


def _nothing_changed(manifests: Manifests, classes: list[type[Exporter]], output: str | None, folder: bool,
                     several: bool) -> bool:
    """Whether the manifest shows that this build would write what is there already (any of the builds it keeps for
    this run key: the last ones to other paths too); then it says so."""
    records = manifests.load()
    if not records:
        return False
    state, digests = _outside(classes), {}
    for record in records:  # newest first
        targets = [resolve_target(output, folder, record.stem, cls, several) for cls in classes]
        done = manifests.up_to_date(record, targets, state, digests)
        if done is not None:
            break
    else:
        return False
    from .. import scratch

    for place in {*(t.parent for t in targets), Path(tempfile.gettempdir())}:
        scratch.sweep_once(place)  # what a killed run left behind goes once the next run has run, skipped or not
    _remember(record.inputs, record.listings, targets)
    _remember_written(classes, targets)  # a copy to a new path is written by this run too
    for target, how in done:
        if how == "unchanged":
            say(f"nothing changed: {target} is up to date (same inputs, options and versions); "
                "nothing rendered or written")
        else:  # written, so not "nothing changed" (which said a new file was written and nothing changed)
            say(f"wrote {target} ({how}: built from the same inputs, options and versions, so nothing was rendered)")
    return True


def _record(manifests: Manifests, classes: list[type[Exporter]], chosen: list[tuple[type[Exporter], Any]],
            config: Config, stem: str, targets: list[Path], reads: dict[str, str | None],
            listings: dict[str, list[str]], written: dict[str, str], warned: bool) -> None:
    """After a build: what it read, what decided it and what it wrote, for the next one. A build that ``warned`` is
    recorded as such: never up to date, only its outputs known (``Build.earlier``)."""
    from ..manifest import Output, Record

    inputs = dict(reads)
    files = [config.path or Path(CONFIG_NAME)]  # no config file: one put there later changes the build
    files += [v for _, opts in chosen for v in vars(opts).values() if isinstance(v, Path)]  # --previous
    for path in files:
        inputs[os.path.abspath(path)] = reading.file_digest(path) if os.path.lexists(path) else ""
    state = _outside(classes)
    outputs = [written.get(os.path.abspath(t)) for t in targets]
    if None in inputs.values() or None in state or None in outputs or len(classes) != len(targets):
        return  # an input edited during the build, an exporter that cannot say, an output not written here
    manifests.save(Record(manifests.key, stem, inputs, listings, state,
                          [Output(os.path.abspath(t), digest) for t, digest in zip(targets, outputs, strict=True)],
                          warned))
    if not warned:
        _remember(inputs, listings, targets)


def _remember(inputs: dict[str, str], listings: dict[str, list[str]], targets: list[Path]) -> None:
    """After a manifest was found up to date or written, in a ``pdf`` run begun by the ``qaexport`` command: the stamps
    of the paths it names, so that the next run of this command line can tell before anything loads that nothing
    changed (``qaexport.last_run``: it then does not start the layout process ahead)."""
    from ..launch import cache_folder, command_line, pdf_args

    args = pdf_args()
    if args is not None:
        from ..last_run import remember

        remember(cache_folder(), command_line(args), inputs, listings, [os.path.abspath(t) for t in targets])


def _cache_folder() -> Path:
    """Where build manifests live (``launch.cache_folder``)."""
    from ..launch import cache_folder

    return cache_folder()


def _chosen_options(ctx: typer.Context, classes: list[type[Exporter]], specs: list[OptionSpec],
                    values: dict[str, Any], config: Config) -> list[tuple[type[Exporter], Any]]:
    """Each exporter with its options; every exporter's problem, and the config file's (``config.problems``), at once
    as one usage error."""
    built = [(cls, *plugin_options(ctx, cls, specs, values, config)) for cls in classes]
    config.raise_problems([message for _, _, message in built if message])
    return [(cls, opts) for cls, opts, _ in built]


def _output(values: dict[str, Any], config: Config) -> tuple[str | None, bool]:
    """``-o``, else the config file's ``output`` (always a folder); whether it must be a folder."""
    if values["output"] == "":  # Path("") is the working folder: the output would land there under its default name
        raise UsageError(f"-o '': the output path is empty; name a file or a folder (e.g. -o {DEFAULT_OUTPUT}/), "
                         f"or leave -o out to write into {DEFAULT_OUTPUT}/")
    if values["output"] is None and "output" in config.top:
        return str(config.top["output"]), True
    return values["output"], False


def _not_declined(chosen: list[tuple[type[Exporter], Any]], library: Library) -> list[tuple[type[Exporter], Any]]:
    """`all`: an exporter that declines this content is skipped, with its reason as a warning."""
    kept = []
    for cls, opts in chosen:
        reason = cls.declines(library)
        if reason:
            err.print(f"warning: skipping {cls.name}: {reason}", soft_wrap=True, emoji=False, markup=False)
        else:
            kept.append((cls, opts))
    return kept


def render_for(library: Library, highlighter: render.Highlighter, classes: list[type[Exporter]],
               no_cache: bool) -> render.RenderedBank:
    """Every question once in each scheme the exporters asked for, through the render cache; the exporters
    prepare meanwhile."""
    cache = render_cache(no_cache)
    try:
        with progress("Rendering", library.count()) as advance:
            rendered = render_library(library, highlighter, [Scheme(cls.scheme) for cls in classes], advance,
                                      cache=cache, meanwhile=lambda: _prepare(classes, library))
        from ..render import patterns

        patterns.save()  # what the lexers compiled, for the next run (nothing when nothing was new)
        return rendered
    finally:
        if cache is not None:
            cache.close()
            if cache.stats.disabled:
                err.print(f"warning: render cache not used: {cache.stats.disabled}", soft_wrap=True, emoji=False,
                          markup=False)


def _prepare(classes: list[type[Exporter]], library: Library) -> None:
    """Each exporter's ``prepare()`` (imports, templates), run while the texts render; in `all` beside a heavy
    exporter, the heavy ones' only: the light ones import what they need in their own children, on the cores the
    heavy one leaves idle, not while this process holds up its start. The state folder every build is given
    (``state_dir``: platformdirs' import, ~3 ms) is found here too, not after the rendering with the other core idle."""
    state_dir()
    if len(classes) == 1:  # the export runs in this process (its own command, or `all` left with one exporter)
        only = classes[0]  # ExporterBase.prepare_alone; an exporter not derived from it has only prepare
        getattr(only, "prepare_alone", lambda _library: only.prepare())(library)
        return
    heavy = [cls for cls in classes if cls.heavy]
    for cls in heavy or classes:
        cls.prepare()


def _warn(message: str) -> None:
    err.print(f"warning: {message}", soft_wrap=True, emoji=False, markup=False)


def _warn_and_keep(warned: list[Any], message: str) -> None:
    warned.append(message)
    _warn(message)


#: Niceness of `all`'s light exporters beside a heavy one (an exporter that declares ``heavy = True``: the PDF lays
#: out on every core for most of the run): the light ones then mostly use the cores the heavy one leaves idle
#: (between its parts, while it merges) instead of slowing it down, and `all` ends when the heavy one does.
NICE_BESIDE_HEAVY = 19


def _export_at_once(jobs: list[tuple[type[Exporter], Any, Path, Build]], written: dict[str, str]) -> list[str]:
    """`all`: every exporter in its own child process. The booklet's layout keeps the cores busy for most of the run
    and leaves one idle at its end; the other formats are written beside it rather than after it, so `all` takes
    about as long as the slowest format alone. Beside a heavy exporter (``heavy = True``), which starts first, the
    light ones run one at a time and niced (:data:`NICE_BESIDE_HEAVY`): a starved child still takes a slice of a
    core now and then, so three of them at once slowed the booklet by a few per cent (`all` was 1.02–1.09x the PDF
    alone); once the heavy ones are done, the rest start at once, at normal priority. Each child writes its own
    file atomically; one that fails does not stop the others. Warnings and "wrote" lines come out in the
    exporters' order once every child is done, then the first failure, as the one command would have said it.
    Returns the warnings; what each child wrote (``output.watch_writes``) is added to ``written``."""
    from ..forked import ChildFailure, Children

    names = ", ".join(cls.name for cls, *_ in jobs)
    heavy = {i for i, (cls, *_) in enumerate(jobs) if cls.heavy}
    waiting = [i for i in range(len(jobs)) if i not in heavy]  # the light ones, in the exporters' order
    job_of: dict[int, int] = {}  # child index -> job index
    running: dict[int, int] = {}  # the same, of the children not done yet
    with progress(f"Writing {names}", None, unit="") as advance, \
            Children(lambda _i, n: advance(n if isinstance(n, int) else 1), lambda cause: f"failed ({cause})",
                     isolated=True) as group:

        def start(job: int, beside_heavy: bool) -> None:
            child = group.start(partial(_export_child, *jobs[job], beside_heavy))
            job_of[child] = running[child] = job

        def fill() -> None:  # beside a heavy exporter one light one at a time, else all that are left
            beside_heavy = any(job in heavy for job in running.values())
            while waiting and not (beside_heavy and any(job not in heavy for job in running.values())):
                start(waiting.pop(0), beside_heavy)

        for job in sorted(heavy):
            start(job, False)
        fill()
        for child, _ in group.finished():
            del running[child]
            fill()
        by_child = group.results()
    outcomes = [by_child[child] for child, _ in sorted(job_of.items(), key=lambda kv: kv[1])]
    # A child that died (killed, out of memory, a crash in a C library) is one failure among the formats.
    results = [outcome if not isinstance(outcome, ChildFailure) else
               ([], "", _failure(outcome.exit_code, f"{cls.name}: {outcome.message}"), {})
               for (cls, *_), outcome in zip(jobs, outcomes, strict=True)]
    told: list[str] = []
    for warnings, line, _, files in results:
        for message in warnings:
            _warn(message)
        told += warnings
        written.update(files)
        if line:
            say(f"wrote {line}")
    # Every failure is told once, the first as the command's error: one cause several exporters meet (a damaged font
    # file the PDF and the EPUB both use, an output folder that cannot be made) is one line, naming them, worded as
    # the first of them said it.
    by_cause: dict[str, tuple[int, str, list[str]]] = {}
    for (cls, *_), (_, _, failure, _) in zip(jobs, results, strict=True):
        if failure:
            code, message, cause = failure
            by_cause.setdefault(cause, (code, message, []))[2].append(cls.name)
    failed = [(code, f"{', '.join(names)}: {message}" if len(names) > 1 else message)
              for code, message, names in by_cause.values()]
    for _code, message in failed[1:]:
        _warn(message)
    if failed:
        raise QaexportError.carried(failed[0][1], failed[0][0])
    return told


def _export_child(cls: type[Exporter], opts: Any, target: Path, build: Build, beside_heavy: bool,
                  report: Callable[[Any], None]) -> tuple[list[str], str, tuple[int, str, str] | None, dict[str, str]]:
    """One exporter of `all`, in its child: its warnings, its "wrote" line, its failure (``_failure``) and the digests
    of the files it wrote come back as values."""
    if beside_heavy and hasattr(os, "nice"):
        os.nice(NICE_BESIDE_HEAVY)  # run on the cores a heavy exporter leaves idle, not against it
    warnings: list[str] = []
    quiet = dataclasses.replace(build, progress=_forwarding(report), warn=warnings.append)
    try:
        with watch_writes() as written:
            cls().export(quiet, opts, target)
    except QaexportError as exc:
        return warnings, "", _failure(exc.exit_code, str(exc), getattr(exc, "cause", "")), {}
    except OSError as exc:  # the disk, worded as handle_errors words it
        return warnings, "", _failure(1, describe_os_error(exc)), {}
    except Exception as exc:  # a bug in one exporter (a plugin's, say) must not take the others down
        cause = " ".join(str(exc).split())[:SHOWN_CHARS * 2]
        return warnings, "", _failure(1, f"{cls.name}: failed ({type(exc).__name__}: {cause})"), {}
    return warnings, _written(target, cls.produces, written), None, written


def _failure(exit_code: int, message: str, cause: str = "") -> tuple[int, str, str]:
    """An exporter's failure in `all`: its exit code, its line, and what it is whatever the exporter
    (``errors.OutputError.cause``; else the line itself), by which the failures several exporters share are told
    once."""
    return exit_code, message, cause or message


def _forwarding(report: Callable[[Any], None]) -> Callable[[str, int | None], Any]:
    """A progress factory for an exporter in a child: its steps move the parent's one bar."""
    @contextlib.contextmanager
    def factory(_label: str, _total: int | None) -> Iterator[Callable[[int], None]]:
        yield lambda n=1: report(n)
    return factory


def _command(classes: list[type[Exporter]], several: bool, output_help: str) -> Any:
    specs = specs_for(classes)
    night_mode = any(cls.night_mode for cls in classes)
    themed = any(cls.scheme is not Scheme.NONE for cls in classes)

    @handle_errors
    def command(ctx: typer.Context, **values: Any) -> None:
        run(ctx, classes, specs, values)

    params = [*_shared(night_mode, output_help, themed), *reader_params(), *typer_params(specs, several)]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return command


def make_command(cls: type[Exporter]) -> Any:
    default = f"dist/<name>{cls.suffix}" + ("/" if cls.produces == Produces.FOLDER else "")
    if cls.produces == Produces.FOLDER:  # -o names the folder written, whatever its name (resolve_target)
        where = (f"Output folder: the {cls.name} folder itself (-o x/ fills x/), "
                 f"not one to write <name>{cls.suffix} into; one holding files of its own is refused")
    else:
        where = f"Output file, or a folder to write <name>{cls.suffix} into (a path ending in / or an existing folder)"
    command = _command([cls], False, f"{where}. Default: {default}")
    command.__doc__ = cls.__doc__
    command.__name__ = f"{cls.name}_cmd"
    return command


def all_command(classes: list[type[Exporter]]) -> Any:
    command = _command(classes, True, "Output folder. Default: dist/")
    command.__doc__ = "Write every format (" + ", ".join(c.name for c in classes) + ") in one run, rendering once."
    command.__name__ = "all_cmd"
    return command
