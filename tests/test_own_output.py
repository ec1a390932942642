"""SOURCES given as a folder skip qaexport's own output below it (the default ``dist/`` and a site folder), as
mkdocs skips its site_dir: ``qaexport anki .`` twice, or any command after ``qaexport site .``, reads the bank only."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from qaexport import sources
from qaexport.cli import app
from qaexport.cli.export import DEFAULT_OUTPUT
from qaexport.exporters.site import MARKER

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_a_source_folder_skips_the_default_output_and_site_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("ok.md").write_text("---\nframework: A\ntopic: B\nsubtopic: C\n---\n\n## Q1 {#q1 .easy}\n\nok answer\n",
                             encoding="utf-8")
    for args in (("anki", "."), ("anki", "."), ("site", "."), ("site", ".", "-o", "elsewhere/"), ("validate", "."),
                 ("anki", "."), ("list", "--keys", ".")):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    assert Path("dist/a-b.apkg").is_file() and Path("dist/a-b-site/index.html").is_file()
    assert result.output.split() == ["a/b/c/q1"]
    # A bank inside a folder named dist elsewhere is read: only the output folder is skipped.
    Path("more/dist").mkdir(parents=True)
    Path("more/dist/other.md").write_text(Path("ok.md").read_text(encoding="utf-8").replace("q1", "q2"),
                                          encoding="utf-8")
    assert run("list", "--keys", ".").output.split() == ["a/b/c/q1", "a/b/c/q2"]


def test_the_names_skipped_are_the_ones_qaexport_writes():
    assert sources.SITE_MARKER == MARKER and Path(sources.DEFAULT_OUTPUT) == DEFAULT_OUTPUT


BANK = "---\nframework: A\ntopic: B\nsubtopic: C\n---\n\n## Q1 {#q1 .easy}\n\nok answer\n"


def test_a_deck_a_build_wrote_beside_the_bank_is_not_read_again(tmp_path, monkeypatch):
    """trial10 #9: `qaexport anki . -o out.apkg` twice, then any command on the folder, reads the bank only (the
    build keeps the stamp of what it wrote: qaexport.own_files); a deck put there otherwise is read."""
    monkeypatch.chdir(tmp_path)
    Path("ok.md").write_text(BANK, encoding="utf-8")
    for args in (("anki", ".", "-o", "out.apkg"), ("anki", ".", "-o", "out.apkg"), ("validate", "."),
                 ("anki", ".", "-o", "again.apkg"), ("list", "--keys", ".")):  # again.apkg: copied (manifest)
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    assert result.output.split() == ["a/b/c/q1"]
    Path("copy.apkg").write_bytes(Path("out.apkg").read_bytes())  # not written by a build: read, so a duplicate
    result = run("validate", ".")
    assert result.exit_code == 1 and "also defined at copy.apkg" in result.output, result.output


def test_a_package_in_a_folder_without_the_apkg_extra_is_skipped_with_a_warning(tmp_path):
    """trial10 #9: without the apkg extra, a deck in a source folder is a warning naming it and what to do, not an
    error stopping every command on the folder."""
    import subprocess
    import sys

    from qaexport.formats.anki_archive import INSTALL_HINT

    Path(tmp_path, "ok.md").write_text(BANK, encoding="utf-8")
    assert run("anki", str(tmp_path / "ok.md"), "-o", str(tmp_path / "deck.apkg")).exit_code == 0
    Path(tmp_path, "other.apkg").write_bytes(Path(tmp_path, "deck.apkg").read_bytes())
    Path(tmp_path, "deck.apkg").unlink()
    script = ("import sys; sys.modules['anki'] = None; sys.modules['anki.collection'] = None\n"
              "from qaexport.cli import main\nsys.argv = ['qaexport', 'list', '--keys', '.']\nmain()")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["a/b/c/q1"]
    assert proc.stderr.splitlines() == [f"warning: other.apkg: skipped: {INSTALL_HINT} to read it, or move it out of "
                                        ". to silence this"]
