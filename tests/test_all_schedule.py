"""`all` beside a heavy exporter (the PDF, laying out on every core): the heavy one starts first, the light ones run
one at a time and niced, so that they take the cores it leaves idle rather than slices of the ones it uses.

The exporters here are stand-ins run through the real scheduler (``_export_at_once``) in real forked children; the
parent's view of which child was started and which was done is recorded by wrapping ``forked.Children``."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from qaexport import forked
from qaexport.cli import export as export_cli
from qaexport.exporters import Build, ExporterBase

#: A bound on the stand-in heavy exporter's wait for the light ones (never reached when the test passes).
WAIT_BOUND = 60.0


@dataclass
class Options:
    folder: Path


class Heavy(ExporterBase):
    """Stays busy until every light exporter is done (so each of them runs beside it), within a bound."""

    name = "heavy"
    suffix = ".heavy"
    produces = "file"
    scheme = "plain"
    heavy = True
    Options = Options
    lights = 0

    def export(self, build: Build, options: Options, target: Path) -> None:
        end = time.monotonic() + WAIT_BOUND
        while len(list(options.folder.glob("done-*"))) < self.lights and time.monotonic() < end:
            time.sleep(0.01)
        target.write_text("heavy")


class Light(ExporterBase):
    """Records the priority it runs at."""

    name = "light"
    suffix = ".light"
    produces = "file"
    scheme = "plain"
    Options = Options

    def export(self, build: Build, options: Options, target: Path) -> None:
        nice = os.getpriority(os.PRIO_PROCESS, 0)
        target.write_text("light")
        (options.folder / f"done-{target.name}").write_text(str(nice))


@pytest.mark.skipif(not hasattr(os, "getpriority") or not forked.can_fork(), reason="POSIX priorities and fork")
def test_light_exporters_run_one_at_a_time_and_niced_beside_a_heavy_one(tmp_path, monkeypatch):
    events: list[tuple[str, str, bool]] = []  # ("start" | "done", job name, started beside a running heavy one)
    names: dict[int, str] = {}

    class Recorded(forked.Children):
        def start(self, work):  # type: ignore[no-untyped-def]
            index = super().start(work)
            names[index] = work.args[2].name
            events.append(("start", names[index], work.args[4]))
            return index

        def finished(self):  # type: ignore[no-untyped-def]
            for index, value in super().finished():
                events.append(("done", names[index], False))
                yield index, value

    monkeypatch.setattr(forked, "Children", Recorded)
    Heavy.lights = 3
    build = Build(None, {}, None, 0.0)  # type: ignore[arg-type]  # the stand-ins read none of it
    opts = Options(tmp_path)
    jobs = [(Light, opts, tmp_path / "a.light", build), (Light, opts, tmp_path / "b.light", build),
            (Heavy, opts, tmp_path / "book.heavy", build), (Light, opts, tmp_path / "c.light", build)]
    written: dict[str, str] = {}
    assert export_cli._export_at_once(jobs, written) == []

    assert events[0] == ("start", "book.heavy", False), events  # the heavy one first, at normal priority
    running: set[str] = set()
    for kind, name, beside in events:
        if kind == "start":
            assert not running - {"book.heavy"}, f"{name} started beside {running}: {events}"
            assert beside == (name != "book.heavy"), events
            running.add(name)
        else:
            running.discard(name)
    assert [name for kind, name, _ in events if kind == "start"] == ["book.heavy", "a.light", "b.light", "c.light"]
    # every light one started while the heavy one ran (the heavy one waits for their work, but its exit may be seen
    # before the last light child's: which child the parent reaps first is a race, not the schedule)
    heavy_done = events.index(("done", "book.heavy", False))
    assert all(events.index(("start", name, True)) < heavy_done for name in ("a.light", "b.light", "c.light")), events
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert {p.name: int(p.read_text()) for p in tmp_path.glob("done-*")} == {
        f"done-{n}.light": min(19, base + export_cli.NICE_BESIDE_HEAVY) for n in "abc"}
    assert all((tmp_path / n).is_file() for n in ("a.light", "b.light", "c.light", "book.heavy"))


def test_the_one_exporter_of_a_run_prepares_knowing_the_library_and_the_heavy_ones_of_several_prepare():
    """cli.export._prepare: one exporter (its export runs in this process) gets prepare_alone(library), or prepare
    when it has none (an exporter that does not derive from ExporterBase); of several, only the heavy ones prepare."""
    from qaexport.cli.export import _prepare

    calls: list[tuple[str, object]] = []

    class Alone(ExporterBase):
        @classmethod
        def prepare_alone(cls, library):  # type: ignore[no-untyped-def]
            calls.append(("alone", library))

    class Bare:  # the exporter contract's members only, no ExporterBase
        heavy = False

        @staticmethod
        def prepare() -> None:
            calls.append(("bare", None))

    class Big(Heavy):
        @staticmethod
        def prepare() -> None:
            calls.append(("heavy", None))

    library = object()
    _prepare([Alone], library)
    _prepare([Bare], library)
    _prepare([Bare, Big], library)
    _prepare([Bare, Bare], library)
    assert calls == [("alone", library), ("bare", None), ("heavy", None), ("bare", None), ("bare", None)]


def test_the_state_folder_is_found_while_the_texts_render(monkeypatch):
    """cli.export._prepare (run while the texts render) finds the state folder every build is given: its first
    finding loads platformdirs (~3 ms of CPU), which ran after the rendering with the other core idle. Whatever the
    exporters."""
    found: list[str] = []
    monkeypatch.setattr(export_cli, "state_dir", lambda: found.append("state") or Path("state"))

    class Bare:
        heavy = False

        @staticmethod
        def prepare() -> None:
            found.append("prepare")

    export_cli._prepare([Bare], object())
    export_cli._prepare([Bare, Bare], object())
    assert found.count("state") == 2 and found.index("state") < found.index("prepare")
