"""The layout process started early (weasy/warm.py): alone in its run, the PDF of a small bank is laid out in the
process started while the texts render, the same bytes as in a child forked at the layout; a book in parts, `all`
and a run that never reaches the layout leave no such process behind."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from qaexport.weasy import layout as pdf_layout
from qaexport.weasy import warm
from tests.cli_run import qaexport

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FIXED = {"SOURCE_DATE_EPOCH": "1700000000"}


def _spy(monkeypatch) -> list[str]:
    """Which way each whole book was laid out: "started" (the early process) or "forked" (a child forked then)."""
    ways: list[str] = []
    original_layout, original_child = warm._Worker.layout, pdf_layout.layout_in_child

    def started(self, *args, **kwargs):
        ways.append("started")
        return original_layout(self, *args, **kwargs)

    def forked(*args, **kwargs):
        ways.append("forked")
        return original_child(*args, **kwargs)

    monkeypatch.setattr(warm._Worker, "layout", started)
    monkeypatch.setattr(pdf_layout, "layout_in_child", forked)
    return ways


def test_a_small_book_is_laid_out_in_the_started_process_with_the_same_bytes(tmp_path, monkeypatch):
    ways = _spy(monkeypatch)
    qaexport("pdf", str(DATA), "-o", str(tmp_path / "started.pdf"), "--no-cache", env=FIXED)
    assert ways == ["started"]
    monkeypatch.setattr(warm, "start", lambda: None)  # as before: a child forked at the layout
    qaexport("pdf", str(DATA), "-o", str(tmp_path / "forked.pdf"), "--no-cache", env=FIXED)
    assert ways == ["started", "forked"]
    assert (tmp_path / "started.pdf").read_bytes() == (tmp_path / "forked.pdf").read_bytes()
    assert warm.started() is None and multiprocessing.active_children() == []


def test_a_book_in_parts_stops_the_started_process(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("synth", ROOT / "benchmarks" / "synth.py")
    assert spec and spec.loader
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    synth.synthesise(68, tmp_path / "bank", 1)  # two frameworks: two parts
    import qaexport.exporters.pdf as pdf_exporter

    monkeypatch.setattr(pdf_exporter, "MIN_PART", 10**9)  # taken for a small book: the process is started
    ways = _spy(monkeypatch)
    stopped = []
    original = warm._Worker.stop
    monkeypatch.setattr(warm._Worker, "stop", lambda self: stopped.append(1) or original(self))
    qaexport("pdf", str(tmp_path / "bank"), "-o", str(tmp_path / "parts.pdf"), "--parts", "2", "--no-cache")
    assert ways == [] and stopped == [1]
    assert warm.started() is None and multiprocessing.active_children() == []


def test_all_starts_no_layout_process(tmp_path, monkeypatch):
    monkeypatch.setattr(warm, "start", lambda: pytest.fail("`all` exports in children: nothing to start here"))
    qaexport("all", str(DATA), "-o", str(tmp_path / "out"), "--no-cache")
    assert (tmp_path / "out").is_dir()


def test_an_unused_process_ends_when_stopped_or_when_its_parent_closes_the_pipe():
    warm.start()
    worker = warm.started()
    assert worker is not None
    (child,) = multiprocessing.active_children()
    warm.stop()
    assert warm.started() is None and not child.is_alive() and multiprocessing.active_children() == []
    warm.start()
    worker = warm.started()
    (child,) = multiprocessing.active_children()
    worker.send.close()  # what this process's exit does: the child reads the end of the pipe, not a job
    child.join(60)
    assert not child.is_alive() and child.exitcode == 0
    warm.stop()


def test_a_failing_layout_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the layout broke")

    monkeypatch.setattr(pdf_layout, "write_pdf", broken)  # inherited by the process started during the run
    from typer.testing import CliRunner

    from qaexport.cli import app

    result = CliRunner().invoke(app, ["pdf", str(DATA), "-o", str(tmp_path / "book.pdf"), "--no-cache"])
    assert result.exit_code != 0
    assert "PDF layout failed (RuntimeError: the layout broke)" in result.output, result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
    assert warm.started() is None and multiprocessing.active_children() == []


def test_a_run_that_fails_before_its_layout_leaves_no_started_process(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from qaexport.cli import app
    from qaexport.errors import InputError
    from qaexport.exporters.pdf import PdfExporter

    def failing(self, build, options, target):
        assert warm.started() is not None  # started while the texts rendered
        raise InputError(target, "a problem found after the rendering")

    monkeypatch.setattr(PdfExporter, "export", failing)
    result = CliRunner().invoke(app, ["pdf", str(DATA), "-o", str(tmp_path / "book.pdf"), "--no-cache"])
    assert result.exit_code != 0 and "a problem found after the rendering" in result.output, result.output
    assert warm.started() is None and multiprocessing.active_children() == []


def test_a_book_too_big_to_be_whole_imports_weasyprint_here_instead(monkeypatch):
    from qaexport.exporters.pdf import PdfExporter
    from qaexport.weasy.parts import MIN_PART

    class Big:  # a library whose texts are over MIN_PART
        def questions(self):
            question = type("Q", (), {"question": "x" * MIN_PART, "answer": ""})()
            return [type("Ref", (), {"question": question})()]

    monkeypatch.setattr(warm, "start", lambda: pytest.fail("a big book is laid out in parts forked from here"))
    PdfExporter.prepare_alone(Big())
    assert warm.started() is None


def test_a_small_bank_starts_the_layout_process_before_it_is_read(tmp_path, monkeypatch):
    import qaexport.cli.export as export

    at_reading = []
    original = export.load_library

    def reading(*args, **kwargs):
        at_reading.append(warm.started() is not None)
        return original(*args, **kwargs)

    monkeypatch.setattr(export, "load_library", reading)
    ways = _spy(monkeypatch)
    qaexport("pdf", str(DATA), "-o", str(tmp_path / "book.pdf"), "--no-cache", env=FIXED)
    assert at_reading == [True] and ways == ["started"]
    assert warm.started() is None and multiprocessing.active_children() == []


def test_sources_too_big_in_bytes_start_nothing_before_they_are_read(tmp_path):
    from qaexport.exporters.pdf import PdfExporter
    from qaexport.weasy.parts import MIN_PART

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "a.md").write_bytes(b"x" * (MIN_PART // 3 - 10))
    (bank / "b.md").write_bytes(b"x" * 20)
    PdfExporter.start_before_reading([bank])
    assert warm.started() is None and multiprocessing.active_children() == []
    (bank / "b.md").write_bytes(b"x" * 10)  # exactly a third of MIN_PART: small enough
    PdfExporter.start_before_reading([bank])
    assert warm.started() is not None
    warm.stop()
    assert multiprocessing.active_children() == []


def test_a_book_bigger_than_its_files_promised_stops_the_process_started_before_reading(monkeypatch):
    from qaexport.exporters.pdf import PdfExporter
    from qaexport.weasy.parts import MIN_PART

    class Big:  # a library whose texts are over MIN_PART (read from sources that were small in bytes)
        def questions(self):
            question = type("Q", (), {"question": "x" * MIN_PART, "answer": ""})()
            return [type("Ref", (), {"question": question})()]

    warm.start()
    assert warm.started() is not None
    PdfExporter.prepare_alone(Big())
    assert warm.started() is None and multiprocessing.active_children() == []


def test_the_size_of_sources_is_bounded_in_bytes_and_in_names(tmp_path):
    from qaexport.reading import size_at_most

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.md").write_bytes(b"1" * 100)
    (tmp_path / "two.json").write_bytes(b"2" * 50)
    assert size_at_most([tmp_path], 150) == 150
    assert size_at_most([tmp_path / "two.json"], 150) == 50
    assert size_at_most([tmp_path], 149) is None
    assert size_at_most([tmp_path], 10**6, entries=3) is None  # the folder, its folder and two files: 4 names
    assert size_at_most([tmp_path / "missing"], 10**6) is None


def test_the_started_process_runs_without_the_cyclic_collector(tmp_path, monkeypatch):
    """From its start to its end (warm._Worker._serve): its import and the end of its layout collect nothing; this
    process's collector is untouched."""
    import gc

    def job(*_args):  # in the child (inherited by the fork): what the layout would find
        return [f"collector enabled: {gc.isenabled()}"]

    monkeypatch.setattr(pdf_layout, "write_pdf_sorted", job)
    warm.start()
    result = warm.layout_whole("<p>x</p>", "", "id", tmp_path / "book.pdf", lambda _pages: None, "book", None, None,
                               False)
    assert result == ["collector enabled: False"]
    assert gc.isenabled() and warm.started() is None and multiprocessing.active_children() == []
