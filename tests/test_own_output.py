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
