"""The build manifest (``qaexport.manifest``): a rebuild with nothing changed renders and writes nothing, and a change
to any part of what decides a build (each input kind, each option, the theme, the environment, the versions, the
Anki ledger, the output itself) builds again. What is observed is real: the render cache's file, the output's inode
and bytes, the deck read back by the official ``anki`` package."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport import manifest
from qaexport.cli import app
from tests.anki_collection import import_deck, log_counts, new_collection
from tests.hand_bank import png

runner = CliRunner()
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def run(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env={**EPOCH, **(env or {})})
    assert result.exit_code == 0, result.output
    return result.output


def render_db() -> Path:
    return Path(os.environ["QAEXPORT_CACHE_DIR"]) / "render-cache.sqlite3"


def stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_ino, info.st_mtime_ns


@pytest.fixture()
def bank(tmp_path: Path) -> Path:
    """Two Markdown files, a cover and an image, code (no cloze: the second export of a cloze warns once of its
    note type, and a build that warned is never skipped)."""
    folder = tmp_path / "bank"
    (folder / "pics").mkdir(parents=True)
    (folder / "pics" / "cover.png").write_bytes(png((60, 80), (0, 0, 128)))
    (folder / "pics" / "resistor.png").write_bytes(png((40, 20), (200, 0, 0)))
    (folder / "intro.md").write_text(
        "---\nframework: Hand Bank\ntopic: Basics\nsubtopic: Getting started\ncover: pics/cover.png\n---\n\n"
        "## What is a bank? {#what .easy}\n\nA folder of *Markdown* files.\n\n"
        "## Where do images go? {#images .medium}\n\nBeside the file: ![a resistor](pics/resistor.png)\n",
        encoding="utf-8")
    (folder / "more.md").write_text(
        "---\nframework: Hand Bank\ntopic: Basics\nsubtopic: Code\n---\n\n"
        "## How is code shown? {#code .hard}\n\n```python\nprint('hi')\n```\n", encoding="utf-8")
    return folder


def built(bank: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    return run("anki", str(bank), "-o", str(out), *extra, env=env)


#: How a build the manifest skipped says an output it copied from the same build at another path.
COPIED = ": built from the same inputs, options and versions, so nothing was rendered)"


def skipped(text: str) -> bool:
    """Whether a run built nothing: every output up to date ("nothing changed: …") or copied (``COPIED``)."""
    built_lines = [line for line in text.splitlines() if "wrote" in line and not line.endswith(COPIED)]
    return ("nothing changed: " in text or COPIED in text) and not built_lines


def test_a_rebuild_with_nothing_changed_renders_nothing_and_writes_nothing(bank, tmp_path):
    out = tmp_path / "deck.apkg"
    assert "wrote" in built(bank, out)
    before, data = stamp(out), out.read_bytes()
    render_db().unlink()  # a build that renders anything makes the render cache again
    text = built(bank, out)
    assert "nothing changed" in text and "nothing rendered or written" in text
    assert not render_db().exists()
    assert stamp(out) == before and out.read_bytes() == data


def test_to_a_new_path_the_recorded_output_is_copied_and_equals_a_full_build(bank, tmp_path):
    first, second, full = tmp_path / "a.apkg", tmp_path / "b.apkg", tmp_path / "c.apkg"
    built(bank, first)
    render_db().unlink()
    text = built(bank, second)
    assert text.strip() == f"wrote {second} (copied from {first}{COPIED}", text  # never "nothing changed: wrote"
    assert not render_db().exists()
    built(bank, full, "--no-cache")  # the same build done in full: the same bytes
    assert second.read_bytes() == first.read_bytes() == full.read_bytes()
    with new_collection(tmp_path / "anki") as col:  # and a real deck: every note imports
        counts = log_counts(import_deck(col, second))
        assert counts["new"] == col.note_count() > 0


def test_no_cache_neither_uses_nor_writes_a_manifest(bank, tmp_path):
    out = tmp_path / "deck.apkg"
    built(bank, out, "--no-cache")
    assert not (Path(os.environ["QAEXPORT_CACHE_DIR"]) / manifest.FOLDER).exists()
    built(bank, out)
    assert "wrote" in built(bank, out, "--no-cache")


def _edit(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


# Each change is one part of what decides a build: after it, the build runs in full and writes the output again.
CHANGES = {
    "a bank file": lambda bank, tmp: _edit(bank / "intro.md", b"A folder of", b"A folder (edited) of"),
    "a file added to a source folder": lambda bank, tmp: (bank / "notes.txt").write_text("x"),
    "an image": lambda bank, tmp: (bank / "pics" / "resistor.png").write_bytes(png((40, 20), (0, 200, 0))),
    "the cover": lambda bank, tmp: (bank / "pics" / "cover.png").write_bytes(png((60, 80), (0, 128, 0))),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_input_builds_again(bank, tmp_path, change):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    assert skipped(built(bank, out))
    CHANGES[change](bank, tmp_path)
    assert "wrote" in built(bank, out)


def test_a_media_file_put_where_it_was_looked_for_builds_again(tmp_path):
    """An image of an HTML question is looked for in ``media/`` beside its bank file, then above it; found two
    folders up, the nearer places were looked in and were empty. One of them is outside the source folder (so no
    listing sees it) and has no other part in the key: a file put there is found first by a full build (here one
    whose bytes do not match its name: the image is left out, with a warning), so the build must run again."""
    import hashlib

    image = png((40, 20), (200, 0, 0))
    name = hashlib.sha256(image).hexdigest()[:16] + ".png"
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / name).write_bytes(image)
    bank = tmp_path / "x" / "bank"
    bank.mkdir(parents=True)
    (bank / "parts.md").write_text(
        "---\nframework: Hand Bank\ntopic: Basics\nsubtopic: Parts\n---\n\n"
        f"## Which part is this? {{#part .easy format=html}}\n\n<p><img src=\"{name}\" alt=\"a resistor\"></p>\n",
        encoding="utf-8")
    out = tmp_path / "deck.apkg"
    first = built(bank, out)
    assert "wrote" in first and "warning" not in first, first
    assert skipped(built(bank, out))
    nearer = tmp_path / "x" / "media" / name
    nearer.parent.mkdir()
    nearer.write_bytes(b"not the image")  # no source folder's listing, no input read, no option changes
    again = built(bank, out)
    assert "wrote" in again and "does not match its name" in again, again


def test_a_config_file_created_or_changed_builds_again(bank, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "deck.apkg"
    built(bank, out)
    assert skipped(built(bank, out))
    (tmp_path / "qaexport.toml").write_text("# nothing yet\n")
    assert "wrote" in built(bank, out)
    assert skipped(built(bank, out))
    (tmp_path / "qaexport.toml").write_text("# still nothing, other bytes\n")
    assert "wrote" in built(bank, out)


@pytest.mark.parametrize("option", [("--deck-name", "Other"), ("--theme", "monokai"), ("--night-theme", "dracula"),
                                    ("--difficulty", "easy"), ("--flat",)])
def test_each_option_builds_again(bank, tmp_path, option):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    assert skipped(built(bank, out))
    assert "wrote" in built(bank, out, *option)
    built(bank, out, *option)  # a new deck name warns once (cards stay in the old decks): never skipped
    assert skipped(built(bank, out, *option))


def test_the_previous_package_is_an_input(bank, tmp_path):
    out, previous, one, two = (tmp_path / name for name in ("deck.apkg", "old.apkg", "one.apkg", "two.apkg"))
    edited = tmp_path / "edited"
    shutil.copytree(bank, edited)
    _edit(edited / "intro.md", b"A folder of", b"A folder (then) of")
    built(bank, one)
    built(edited, two)
    shutil.copy(one, previous)
    built(bank, out, "--previous", str(previous))
    assert skipped(built(bank, out, "--previous", str(previous)))
    shutil.copy(two, previous)  # other bytes at the same path; the ledger untouched
    assert "wrote" in built(bank, out, "--previous", str(previous))


def test_the_environment_builds_again(bank, tmp_path):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    assert skipped(built(bank, out))
    assert "wrote" in built(bank, out, env={"SOURCE_DATE_EPOCH": "1700000100"})


@pytest.fixture()
def installed_place(tmp_path, monkeypatch) -> Path:
    """A place on the import path with one distribution installed, as pip leaves it (a ``NAME-VERSION.dist-info``
    folder)."""
    place = tmp_path / "site-packages"
    (place / "fakelib-1.0.dist-info").mkdir(parents=True)
    (place / "fakelib-1.0.dist-info" / "METADATA").write_text("Name: fakelib\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(place))
    return place


def test_a_library_upgraded_builds_again(bank, tmp_path, installed_place):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    assert skipped(built(bank, out))
    info = installed_place.stat()
    (installed_place / "fakelib-1.0.dist-info").rename(installed_place / "fakelib-1.1.dist-info")
    os.utime(installed_place, ns=(info.st_atime_ns, info.st_mtime_ns))  # the name alone says it
    assert installed_place.stat().st_mtime_ns == info.st_mtime_ns
    assert "wrote" in built(bank, out)


def test_a_library_reinstalled_at_the_same_version_builds_again(bank, tmp_path, installed_place):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    assert skipped(built(bank, out))
    info = installed_place.stat()
    shutil.rmtree(installed_place / "fakelib-1.0.dist-info")  # a rebuilt wheel of the same version: same names
    (installed_place / "fakelib-1.0.dist-info").mkdir()
    os.utime(installed_place, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))  # whatever the clock's grain
    assert "wrote" in built(bank, out)


def test_the_libraries_installed_are_in_the_key():
    import pygments

    place = Path(pygments.__file__).resolve().parent.parent
    entries = {Path(e.split("\0")[0]).resolve(): e.split("\0")[2].split() for e in manifest.installed()}
    assert any(name.startswith(f"pygments-{pygments.__version__}.") for name in entries[place])
    assert any(name.startswith("weasyprint-") for name in entries[place])


def test_an_edited_qaexport_file_builds_again(bank, tmp_path):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    assert skipped(built(bank, out))
    code = Path(manifest.__file__)  # an editable install keeps its version number while its code changes
    info = code.stat()
    try:
        os.utime(code, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        assert "wrote" in built(bank, out)
    finally:
        os.utime(code, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_the_anki_ledger_written_since_builds_again(bank, tmp_path, state_dir):
    out, other = tmp_path / "deck.apkg", tmp_path / "other" / "bank"
    built(bank, out)
    assert skipped(built(bank, out))
    shutil.copytree(bank, other)
    _edit(other / "intro.md", b"A folder of", b"A folder (elsewhere) of")
    built(other, tmp_path / "other.apkg")  # the same notes, one changed: the ledger gives it a new time
    assert "wrote" in built(bank, out)


def test_a_changed_or_removed_output_builds_again(bank, tmp_path):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    good = out.read_bytes()
    out.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # same size, other bytes
    assert "wrote" in built(bank, out)
    assert out.read_bytes() == good
    out.unlink()
    assert "wrote" in built(bank, out)
    assert out.read_bytes() == good
    elsewhere = tmp_path / "b.apkg"
    out.write_bytes(b"not the deck")  # the recorded output is gone: nothing to copy
    assert "wrote" in built(bank, elsewhere)


def _record() -> Path:
    found = list((Path(os.environ["QAEXPORT_CACHE_DIR"]) / manifest.FOLDER).glob("*.json"))
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("damage", ["garbage", "wrong types", "an earlier build's wrong types", "too large",
                                    "a folder", "a JSON bomb"])
def test_a_damaged_manifest_is_one_warning_and_a_full_build(bank, tmp_path, monkeypatch, damage):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    record = _record()
    if damage == "garbage":
        record.write_bytes(b"\x00{not json")
    elif damage == "wrong types":
        data = json.loads(record.read_text())
        data["outputs"] = [{"path": "relative.apkg", "digest": 5}]
        record.write_text(json.dumps(data))
    elif damage == "an earlier build's wrong types":
        data = json.loads(record.read_text())
        data["earlier"] = [{**{k: data[k] for k in ("stem", "inputs", "listings", "state")}, "outputs": "x"}]
        record.write_text(json.dumps(data))
    elif damage == "too large":
        monkeypatch.setattr(manifest, "MAX_BYTES", 100)
    elif damage == "a JSON bomb":  # 2 MiB of empty lists, under the 16 MiB limit: refused before parsing
        record.write_bytes(b"[" + b"[]," * 699_050 + b"[]]")
    else:
        record.unlink()
        record.mkdir()
    result = runner.invoke(app, ["anki", str(bank), "-o", str(out)], env=EPOCH)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "build manifest" in warnings[0] and "building in full" in warnings[0]
    assert damage != "a JSON bomb" or "too many small values" in warnings[0], warnings
    assert "wrote" in result.output
    if damage != "a folder" and damage != "too large":
        assert skipped(built(bank, out))  # written again, sound


def test_a_build_that_warned_is_never_skipped(tmp_path):
    """It is recorded, marked so (only its outputs are known later: a rename's old deck), and never up to date."""
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "a.md").write_text("---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n## What? {#what .easy}\n\n"
                               "![gone](http://example.com/x.png)\n", encoding="utf-8")
    out = tmp_path / "deck.apkg"
    assert "warning:" in built(bank, out)
    assert "warning:" in built(bank, out)  # built again: its warnings are said again


def test_the_ledger_stamp_sees_a_write(state_dir, bank, tmp_path):
    from qaexport.exporters.anki import AnkiExporter

    built(bank, tmp_path / "deck.apkg")
    before = AnkiExporter.outside_state(state_dir)
    with sqlite3.connect(state_dir / "anki-notes.sqlite3") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS touched (x)")
    conn.close()
    assert AnkiExporter.outside_state(state_dir) != before


def test_a_skipped_build_still_sweeps_what_a_killed_run_left(bank, tmp_path):
    out = tmp_path / "deck.apkg"
    built(bank, out)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a process that is gone: what it left is a killed run's
    left = tmp_path / f".qaexport-{proc.pid}-xyz.deck.apkg.tmp"
    left.write_bytes(b"half a deck")
    # A process of its own (a process sweeps a folder once; this one has swept tmp_path already)
    result = subprocess.run([sys.executable, "-m", "qaexport", "anki", str(bank), "-o", str(out)], capture_output=True,
                            text=True, env={**os.environ, **EPOCH}, timeout=300)
    assert result.returncode == 0 and skipped(result.stdout), result.stdout + result.stderr
    assert not left.exists()


def test_a_system_library_installed_since_builds_again(bank, tmp_path, monkeypatch):
    cache = tmp_path / "ld.so.cache"  # stands for /etc/ld.so.cache, which every library install rewrites
    cache.write_bytes(b"libpango-1.0.so.0")
    monkeypatch.setattr(manifest, "SYSTEM_LIBRARIES", str(cache))
    out = tmp_path / "deck.apkg"
    built(bank, out)
    assert skipped(built(bank, out))
    cache.unlink()
    cache.write_bytes(b"libpango-1.0.so.0 (upgraded)")
    assert "wrote" in built(bank, out)


def test_a_package_read_as_a_source_is_an_input(bank, tmp_path):
    """An Anki package is read by its own reader (not through ``reading.read_limited``): its bytes are still taken."""
    edited = tmp_path / "edited"
    shutil.copytree(bank, edited)
    _edit(edited / "intro.md", b"A folder of", b"A folder (then) of")
    deck, other = tmp_path / "deck.apkg", tmp_path / "other.apkg"
    built(bank, deck)
    built(edited, other)
    book = tmp_path / "book.epub"
    assert "wrote" in run("epub", str(deck), "-o", str(book))
    assert skipped(run("epub", str(deck), "-o", str(book)))
    shutil.copy(other, deck)
    assert "wrote" in run("epub", str(deck), "-o", str(book))


# --- folder outputs: the site, alone and in `all` -----------------------------------------------------------------

def tree_stamps(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.relative_to(folder).as_posix(): (*stamp(p), p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def test_all_rebuilt_with_nothing_changed_writes_nothing_and_to_a_new_folder_copies_a_full_build(bank, tmp_path):
    first, second, full = tmp_path / "first", tmp_path / "second", tmp_path / "full"
    text = run("all", str(bank), "-o", f"{first}/")
    assert text.count("wrote") == 4 and (first / "hand-bank-basics-site").is_dir(), text
    before = {p.name: tree_stamps(p) if p.is_dir() else stamp(p) for p in first.iterdir()}
    render_db().unlink()
    text = run("all", str(bank), "-o", f"{first}/")
    assert text.count("nothing changed") == 4 and "nothing rendered or written" in text and "wrote" not in text, text
    assert {p.name: tree_stamps(p) if p.is_dir() else stamp(p) for p in first.iterdir()} == before
    text = run("all", str(bank), "-o", f"{second}/")  # to a new folder: every output copied, the site too
    assert text.count("copied from") == 4 and f"copied from {first / 'hand-bank-basics-site'}" in text, text
    assert text.count(COPIED) == 4 and "nothing changed" not in text, text  # written: not "nothing changed: wrote"
    assert not render_db().exists()
    run("all", str(bank), "-o", f"{full}/", "--no-cache")  # the same build done in full: the same files
    for name in (p.name for p in full.iterdir()):
        if (full / name).is_dir():
            assert {k: v[2] for k, v in tree_stamps(second / name).items()} == \
                   {k: v[2] for k, v in tree_stamps(full / name).items()}, name
        else:
            assert (second / name).read_bytes() == (full / name).read_bytes(), name


# Each change to the site's folder since it was written: the next build writes it again.
SITE_CHANGES = {
    "a file's bytes": lambda site: (site / "index.html").write_bytes((site / "index.html").read_bytes() + b" "),
    "a file removed": lambda site: (site / "index.html").unlink(),
    "a file made a link": lambda site: (site / "index.html").unlink() or (site / "index.html").symlink_to(
        site.parent / "elsewhere.html"),
}


@pytest.mark.parametrize("change", sorted(SITE_CHANGES))
def test_a_changed_site_folder_builds_again(bank, tmp_path, change):
    site = tmp_path / "site"
    run("site", str(bank), "-o", str(site))
    (tmp_path / "elsewhere.html").write_bytes((site / "index.html").read_bytes())  # the same bytes, through a link
    assert skipped(run("site", str(bank), "-o", str(site)))
    SITE_CHANGES[change](site)
    text = run("site", str(bank), "-o", str(site))
    assert "wrote" in text and "nothing changed" not in text, text
    assert not (site / "index.html").is_symlink()


def test_a_file_the_user_added_to_the_site_folder_is_no_change_and_stays(bank, tmp_path):
    """The site's marker lists the files the build wrote; a file the user put beside them (a CNAME) is theirs: it
    changes nothing the build made, and every build keeps it (trial10 #3)."""
    site = tmp_path / "site"
    run("site", str(bank), "-o", str(site))
    (site / "CNAME").write_text("quiz.example.org\n")
    assert skipped(run("site", str(bank), "-o", str(site)))
    (site / "index.html").write_bytes(b"edited")
    assert "nothing changed" not in run("site", str(bank), "-o", str(site))
    assert (site / "CNAME").read_text() == "quiz.example.org\n" and (site / "index.html").read_bytes() != b"edited"


def test_a_site_changed_where_it_was_recorded_is_built_not_copied(bank, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    run("all", str(bank), "-o", f"{first}/")
    page = first / "hand-bank-basics-site" / "index.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<p>edited</p></body>"))
    text = run("all", str(bank), "-o", f"{second}/")
    assert "copied from" not in text and text.count("wrote") == 4, text
    assert b"edited" not in (second / "hand-bank-basics-site" / "index.html").read_bytes()


@pytest.mark.parametrize("command", ["epub", "pdf"])
def test_a_build_elsewhere_from_an_edit_since_undone_leaves_the_default_output_up_to_date(bank, tmp_path, command):
    """The run key holds no output path: A to the default path, B (an edit) to ``-o other``, A again (the edit
    undone) finds the default output built from exactly these inputs and options, unchanged: nothing is built
    (before, the key's one record was B's and A was built again). The command as a user runs it, in its own process
    (``python -m qaexport``: the pdf command's layout process started ahead, too)."""
    env = {**os.environ, **EPOCH}

    def qaexport(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "qaexport", command, str(bank), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
        return done.stdout + done.stderr

    intro = bank / "intro.md"
    original = intro.read_text(encoding="utf-8")
    edited = original.replace("A folder of", "A directory of")
    assert "wrote" in qaexport()
    (default,) = (tmp_path / "dist").glob(f"*.{command}")
    before, data = stamp(default), default.read_bytes()
    intro.write_text(edited, encoding="utf-8")
    assert "wrote" in qaexport("-o", f"other.{command}")
    intro.write_text(original, encoding="utf-8")
    text = qaexport()  # the edit undone: the default output was built from exactly these inputs and options
    assert skipped(text) and "is up to date" in text, text
    assert stamp(default) == before and default.read_bytes() == data
    intro.write_text(edited, encoding="utf-8")
    assert skipped(qaexport("-o", f"other.{command}"))  # and other.* from these
    assert "wrote" in qaexport()  # the edit to the default path: built (it holds the other build)
    intro.write_text(original, encoding="utf-8")
    assert "wrote" in qaexport()  # undone: built (the default holds the edit's build now)
    assert default.read_bytes() == data
    with default.open("ab") as fh:  # the output changed since: built again
        fh.write(b"\0")
    assert "wrote" in qaexport()
    assert default.read_bytes() == data
    assert skipped(qaexport())


def test_a_record_keeps_the_last_builds_to_other_paths_and_no_more(bank, tmp_path, monkeypatch):
    """One run key's builds to other paths share its record: the newest ``KEEP_BUILDS`` (3 here), the one a build
    overwrote replaced by it; each still found up to date while kept (an EPUB: the Anki ledger's stamps, its outside
    state, change with each build of a changed note, so an older deck's build never holds)."""
    monkeypatch.setattr(manifest, "KEEP_BUILDS", 3)
    intro = bank / "intro.md"
    original = intro.read_text(encoding="utf-8")

    def build(i: int, to: int) -> str:
        intro.write_text(original.replace("A folder of", f"Folder {i} of"), encoding="utf-8")
        return run("epub", str(bank), "-o", str(tmp_path / f"book{to}.epub"))

    def kept() -> list[str]:
        data = json.loads(_record().read_text())
        return [Path(b["outputs"][0]["path"]).name for b in [data, *data["earlier"]]]

    for i in range(5):
        assert "wrote" in build(i, i)
    assert kept() == ["book4.epub", "book3.epub", "book2.epub"]
    assert "wrote" in build(4, 3)  # book3.epub holds another build: built, and its record replaced
    assert kept() == ["book3.epub", "book4.epub", "book2.epub"]
    assert skipped(build(2, 2)) and skipped(build(4, 4))  # kept: each up to date from its own inputs
    assert "wrote" in build(1, 1)  # no longer kept: built


def test_a_manifest_over_its_limit_is_told_in_mib_like_every_size(bank, tmp_path):
    """The warning said '16,777,217 bytes, over the 16 MiB a manifest may have': every other size beside a limit is
    in MiB (``limits.mib``). A real record, padded with JSON whitespace to a byte over the limit."""
    out = tmp_path / "deck.apkg"
    built(bank, out)
    record = _record()
    data = record.read_bytes()
    record.write_bytes(data + b" " * (manifest.MAX_BYTES + 1 - len(data)))
    result = runner.invoke(app, ["anki", str(bank), "-o", str(out)], env=EPOCH)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: build manifest {record}: 16.1 MiB, over the 16 MiB a manifest may have; building "
                        "in full (it is written again)"], result.output
