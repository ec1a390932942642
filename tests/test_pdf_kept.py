"""Laid-out parts kept between runs (``weasy.kept``): an edit lays out again only the part that holds it, and the
book is the same bytes as one built with nothing kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.model import Media
from qaexport.weasy import kept as kept_module
from qaexport.weasy import layout as pdf_layout
from qaexport.weasy.kept import KeptLayouts, for_build, prefix
from qaexport.weasy.parts import BODY_CSS
from tests import cli_run
from tests.test_pdf_parts import _synthesise

VERSIONS = {"python": "3", "qaexport": "1", "weasyprint": "68"}


def _prefix(**changed: object) -> str:
    args: dict[str, object] = {"versions": VERSIONS, "identifier": "id", "files": {}, "media": {}, "dated": None}
    args.update(changed)
    return prefix(**args)  # type: ignore[arg-type]


def test_every_part_of_the_key_changes_it(tmp_path):
    assert _prefix() != _prefix(dated=1_700_000_000.0)  # the date of the font subsets a part embeds
    font = tmp_path / "face.ttf"
    font.write_bytes(b"font")
    base = _prefix(files={"f": font}, media={"a.png": Media("a.png", b"png", "image/png")})
    assert base == _prefix(files={"f": font}, media={"a.png": Media("a.png", b"png", "image/png")})
    assert base != _prefix(versions={**VERSIONS, "weasyprint": "69"}, files={"f": font},
                           media={"a.png": Media("a.png", b"png", "image/png")})
    assert base != _prefix(identifier="other", files={"f": font}, media={"a.png": Media("a.png", b"png", "image/png")})
    assert base != _prefix(files={"f": font}, media={"a.png": Media("a.png", b"PNG", "image/png")})
    assert base != _prefix(files={"f": font}, media={"b.png": Media("b.png", b"png", "image/png")})
    os.utime(font, ns=(1, 1))  # the font file rewritten (its stamp changed)
    assert base != _prefix(files={"f": font}, media={"a.png": Media("a.png", b"png", "image/png")})
    kept = KeptLayouts(tmp_path, base)
    key = kept.key("<p>html</p>", "p {}")
    assert key == KeptLayouts(tmp_path, base).key("<p>html</p>", "p {}")
    assert key != KeptLayouts(tmp_path, _prefix()).key("<p>html</p>", "p {}")
    assert key != kept.key("<p>HTML</p>", "p {}")
    assert key != kept.key("<p>html</p>", "p { }")


def test_a_kept_part_is_copied_only_whole_and_unchanged(tmp_path):
    kept = KeptLayouts(tmp_path / "layouts", "prefix")
    laid = tmp_path / "laid.pdf"
    laid.write_bytes(b"%PDF- part")
    kept.store("k", laid, {"pages": 2, "anchors": {}, "levels": [], "missing": []})
    out = tmp_path / "out.pdf"
    assert kept.fetch("k", out)["pages"] == 2 and out.read_bytes() == b"%PDF- part"
    out.unlink()
    assert kept.fetch("other", out) is None and not out.exists()
    (tmp_path / "layouts" / "k" / kept_module.PART).write_bytes(b"%PDF- changed")  # bytes changed since kept
    assert kept.fetch("k", out) is None and not out.exists()
    assert not (tmp_path / "layouts" / "k").exists(), "a damaged part is removed: the one laid out again is kept"
    kept.store("k", laid, {"pages": 2})
    (tmp_path / "layouts" / "k" / "record.json").write_text("[", encoding="utf-8")  # malformed
    assert kept.fetch("k", out) is None and not out.exists()
    kept.store("k", laid, {"pages": 3})
    assert kept.fetch("k", out)["pages"] == 3


def test_a_record_dense_with_tiny_values_is_not_parsed(tmp_path):
    """Under ``MAX_RECORD``, ~2 MiB of ``[],`` would still parse into some 50 MiB of lists: refused unparsed (as the
    build manifest and the bank are), the entry dropped so the part laid out again is kept in its place."""
    kept = KeptLayouts(tmp_path / "layouts", "prefix")
    laid = tmp_path / "laid.pdf"
    laid.write_bytes(b"%PDF- part")
    kept.store("k", laid, {"pages": 2})
    record = tmp_path / "layouts" / "k" / "record.json"
    valid = record.read_bytes()
    assert valid.endswith(b"}")
    record.write_bytes(valid[:-1] + b', "n": [' + b"[]," * 700_000 + b"[]]}")  # ~2 MiB, otherwise a valid record
    out = tmp_path / "out.pdf"
    assert kept.fetch("k", out) is None and not out.exists()
    assert not (tmp_path / "layouts" / "k").exists()


def test_the_least_recently_used_parts_go_past_the_bounds(tmp_path, monkeypatch):
    kept = KeptLayouts(tmp_path / "layouts", "prefix")
    laid = tmp_path / "laid.pdf"
    laid.write_bytes(b"x" * 1000)
    monkeypatch.setattr(kept_module, "MAX_ENTRIES", 2)
    for name in ("a", "b", "c"):
        kept.store(name, laid, {})
        os.utime(tmp_path / "layouts" / name, ns=(ord(name), ord(name)))
    kept.store("d", laid, {})
    assert sorted(os.listdir(tmp_path / "layouts")) == ["c", "d"]
    monkeypatch.setattr(kept_module, "MAX_ENTRIES", 100)
    monkeypatch.setattr(kept_module, "MAX_BYTES", 2500)  # two entries' files and records
    kept.store("e", laid, {})
    assert sorted(os.listdir(tmp_path / "layouts")) == ["d", "e"]


def test_what_a_killed_run_left_while_keeping_a_part_goes_at_the_next_run(tmp_path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    folder = tmp_path / kept_module.FOLDER
    left = folder / f".qaexport-{ended.pid}-layout-abc"
    mine = folder / f".qaexport-{os.getpid()}-layout-def"
    left.mkdir(parents=True)
    mine.mkdir()
    (left / "0.pdf").write_bytes(b"half")
    for_build(tmp_path, "id", {}, {}, None)
    assert not left.exists() and mine.exists()


@pytest.fixture()
def laid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding one mark per body part laid out (not copied from the kept ones) since the last build of
    ``_builder``: ``write_pdf`` is wrapped, and the wrapper runs in each part's process."""
    folder = tmp_path / "laid"
    folder.mkdir()
    write_pdf = pdf_layout.write_pdf

    def spied(html: str, css: str, *args, **kwargs):
        if css.endswith(BODY_CSS):
            (folder / f"{os.getpid()}-{len(html)}").write_text("")
        return write_pdf(html, css, *args, **kwargs)

    monkeypatch.setattr(pdf_layout, "write_pdf", spied)
    return folder


def _builder(bank: Path, tmp_path: Path, laid: Path, parts: int, env: dict[str, str]) -> Callable[..., bytes]:
    """``build(name, *more)``: the book of ``bank`` in ``parts`` parts at ``tmp_path / name``, its bytes, with
    ``laid`` emptied first; ``env`` as it is at each call (an empty value is left out)."""

    def build(name: str, *more: str) -> bytes:
        for mark in laid.iterdir():
            mark.unlink()
        cli_run.qaexport("pdf", str(bank), "--parts", str(parts), "-o", str(tmp_path / name), *more,
                         env={k: v for k, v in env.items() if v})
        return (tmp_path / name).read_bytes()

    return build


@pytest.mark.slow
def test_an_edit_lays_out_only_its_part_and_the_book_is_a_full_builds_bytes(tmp_path, monkeypatch, laid):
    bank = _synthesise(80, tmp_path / "bank")  # three frameworks, three parts
    env = {"SOURCE_DATE_EPOCH": "", "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    build = _builder(bank, tmp_path, laid, 3, env)

    middle = bank / "framework-001-topic-00.json"
    text = middle.read_text(encoding="utf-8")

    def edit(new: str) -> None:
        assert "is a lightning-fast ASGI server" in text
        middle.write_text(text.replace("is a lightning-fast ASGI server", new, 1), encoding="utf-8")

    # Dated by the clock (no SOURCE_DATE_EPOCH): the second build runs at a later second, and a part names no date.
    build("first.pdf")
    assert len(list(laid.iterdir())) == 3
    assert len(os.listdir(tmp_path / "cache" / "layouts")) == 3
    edit("is a fast ASGI server")
    build("edited.pdf")
    assert len(list(laid.iterdir())) == 1, "the two unchanged parts are copied, not laid out"
    # Dated by SOURCE_DATE_EPOCH: the parts are dated otherwise (laid out again), and the book after an edit is
    # the same bytes as the book built with nothing kept.
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    first = build("dated.pdf")
    assert len(list(laid.iterdir())) == 3
    edit("is an ASGI server")
    edited = build("dated-edited.pdf")
    assert len(list(laid.iterdir())) == 1
    full = build("full.pdf", "--no-cache")
    assert len(list(laid.iterdir())) == 3
    assert edited == full and edited != first
    for entry in (tmp_path / "cache" / "layouts").iterdir():  # every kept part damaged: laid out again, same book
        with open(entry / kept_module.PART, "ab") as fh:
            fh.write(b"\n")
    for record in (tmp_path / "cache" / "manifests").iterdir():  # (else the build manifest copies edited.pdf)
        record.unlink()
    assert build("again.pdf") == full
    assert len(list(laid.iterdir())) == 3


@pytest.mark.slow
def test_an_edit_in_a_framework_cut_between_questions_lays_out_only_its_part(tmp_path, monkeypatch, laid):
    """A big book's framework cut into parts between questions (``MAX_PART``): an edit lays out the one part that
    holds the edited question (the cuts before it do not move, nor those after it), and the book is the bytes of a
    build with nothing kept."""
    from qaexport.weasy import parts as pdf_parts
    from tests.test_pdf_cuts import SMALL_PART, cut_bank

    bank = cut_bank(tmp_path / "bank")
    env = {"SOURCE_DATE_EPOCH": "1700000000", "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}
    monkeypatch.setattr(pdf_parts, "MAX_PART", SMALL_PART)
    build = _builder(bank, tmp_path, laid, 2, env)

    first = build("first.pdf")
    parts = len(list(laid.iterdir()))
    assert parts >= 7  # cut inside its frameworks
    edited_file = bank / "1.md"  # the subtopic "Alpha two": its fourth question, in a part inside the framework
    text = edited_file.read_text(encoding="utf-8")
    edited_file.write_text(text.replace("Answer A2.3: words", "Answer A2.3: a few words", 1), encoding="utf-8")
    edited = build("edited.pdf")
    assert len(list(laid.iterdir())) == 1, "the unchanged parts are copied, not laid out"
    assert edited == build("full.pdf", "--no-cache") and edited != first
    assert len(list(laid.iterdir())) == parts


@pytest.mark.slow
def test_a_part_killed_while_it_is_kept_leaves_nothing_once_the_next_run_has_run(tmp_path, monkeypatch):
    bank = _synthesise(80, tmp_path / "bank")
    env = {"SOURCE_DATE_EPOCH": "1700000000", "QAEXPORT_CACHE_DIR": str(tmp_path / "cache")}
    args = ["pdf", str(bank), "--parts", "3", "-o", str(tmp_path / "book.pdf")]
    layouts = tmp_path / "cache" / kept_module.FOLDER

    def killed(_path):  # in a part's process, its first file copied into the entry's folder: SIGKILL
        os.kill(os.getpid(), signal.SIGKILL)

    with monkeypatch.context() as patch:
        patch.setattr(kept_module, "file_digest", killed)
        result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code != 0 and "PDF layout failed" in result.output, result.output
    left = [p.name for p in layouts.iterdir()]
    assert left and all(name.startswith(".qaexport-") for name in left), left
    cli_run.qaexport(*args, env=env)
    assert sorted(p.name.startswith(".") for p in layouts.iterdir()) == [False] * 3
