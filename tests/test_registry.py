"""The plugin registries: built-ins come from the entry-point groups; broken plugins never break the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qaexport import exporters, sources
from qaexport.errors import UsageError
from qaexport.exporters.anki import AnkiExporter
from qaexport.exporters.epub import EpubExporter
from qaexport.exporters.pdf import PdfExporter
from qaexport.sources.nuxt import NuxtReader

ROOT = Path(__file__).resolve().parent.parent


def test_builtins_come_from_the_entry_point_groups():
    found = exporters.registry.load()
    assert {k: found[k] for k in ("anki", "epub", "pdf")} == {"anki": AnkiExporter, "epub": EpubExporter,
                                                              "pdf": PdfExporter}
    for name, cls in found.items():
        assert cls.name == name and cls.__doc__
    assert sources.registry.load()["nuxt"] is NuxtReader


def test_unknown_exporter_lists_the_known_ones():
    with pytest.raises(UsageError, match=r"unknown exporter 'docx'; known: anki, .*epub.*pdf"):
        exporters.registry.get("docx")


def test_a_file_nobody_claims_is_a_usage_error_naming_the_formats(tmp_path):
    odd = tmp_path / "bank.xyz"
    odd.write_text("whatever")
    with pytest.raises(UsageError, match=r"bank.xyz: not a format qaexport reads; known formats: .*\.json"):
        sources.expand([odd])


def test_folders_are_walked_recursively_and_unclaimed_files_skipped(tmp_path, sample_path):
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "bank.json").write_bytes(sample_path.read_bytes())
    (deep / "notes.xyz").write_text("not a bank")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.json").write_text("[]")
    found = sources.expand([tmp_path, deep / "bank.json"])  # the file and its folder: read once
    assert [(p.name, r.name) for p, r in found] == [("bank.json", "nuxt")]


def _fake_dist(site: Path, name: str, entry_points: str, modules: dict[str, str]) -> Path:
    """An installed distribution as importlib.metadata sees it: a dist-info folder and its modules, in ``site`` (a
    folder to put on PYTHONPATH, returned)."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    return site


def _cli(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    return subprocess.run([sys.executable, "-m", "qaexport", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> Path:
    return _fake_dist(tmp_path_factory.mktemp("site"), "broken_plugins", """
        [qaexport.exporters]
        crashy = crashy_mod:Crashy
        weird = weird_mod:Weird
        pdf = weird_mod:FakePdf
        partial = weird_mod:Partial
        [qaexport.sources]
        bad-reader = crashy_mod:Reader
        """, {
        "crashy_mod": "raise ImportError('libfoo.so.1: cannot open shared object file')\n",
        "weird_mod": """
            from dataclasses import dataclass

            from qaexport.exporters import ExporterBase

            @dataclass
            class Options:
                pass

            class Partial:  # the contract's required members, but not its optional ones: no ExporterBase
                name = "partial"; suffix = ".p"; produces = "file"; scheme = "plain"; in_all = False
                Options = Options
                def export(self, build, options, target): ...

            class Weird(ExporterBase):
                name = "weird"; suffix = ".w"; produces = "file"; scheme = "sparkly"; in_all = True
                Options = Options
                def export(self, build, options, target): ...

            class FakePdf(Weird):
                name = "pdf"; scheme = "compact"
            """,
    })


def test_broken_plugins_are_named_once_and_everything_else_works(broken_site, sample_path, tmp_path):
    # `formats` loads every plugin: each broken one is named once
    result = _cli(broken_site, "formats", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 5, result.stderr
    text = "\n".join(warnings)
    assert "exporter plugin 'crashy' (crashy_mod:Crashy, from broken_plugins) failed to load (ImportError: " \
           "libfoo.so.1" in text
    assert "exporter plugin 'weird' (weird_mod:Weird, from broken_plugins) is unusable: unknown scheme " \
           "'sparkly' (known: compact, portable, plain, none)" in text
    assert "exporter plugin 'pdf' (weird_mod:FakePdf, from broken_plugins) is ignored: exporter 'pdf' is " \
           "already registered by qaexport" in text
    assert "exporter plugin 'partial' (weird_mod:Partial, from broken_plugins) is unusable: it lacks `heavy`, " \
           "`night_mode`, `declines`, `prepare` (subclass qaexport.exporters.ExporterBase for the defaults of the " \
           "optional ones)" in text
    assert "source plugin 'bad-reader'" in text and "failed to load" in text
    assert "Traceback" not in result.stderr
    # a command loads only the plugins it uses: `list` reads sources (all readers), never an exporter
    result = _cli(broken_site, "list", str(sample_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "source plugin 'bad-reader'" in warnings[0], result.stderr
    assert "3 subtopics" in result.stdout or "subtopics" in result.stdout
    # the built-in pdf exporter is the one that runs, and its shadowed duplicate is named
    result = _cli(broken_site, "pdf", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "--paper" in result.stdout, result.stderr
    assert "exporter plugin 'pdf' (weird_mod:FakePdf, from broken_plugins) is ignored" in result.stderr
    # the broken ones are simply absent
    help_text = _cli(broken_site, "--help", cwd=tmp_path).stdout
    assert "pdf" in help_text and "crashy" not in help_text and "weird" not in help_text
    assert "error: no such command 'crashy'" in _cli(broken_site, "crashy", cwd=tmp_path).stderr


def test_a_claimed_file_that_does_not_look_like_its_format_is_skipped_in_folders_with_a_warning(tmp_path,
                                                                                                 sample_path):
    (tmp_path / "bank.json").write_bytes(sample_path.read_bytes())
    (tmp_path / "README.md").write_text("# About this bank\n")
    skipped = []
    found = sources.expand([tmp_path], skipped=skipped)
    assert [p.name for p, _ in found] == ["bank.json"]
    assert [str(s) for s in skipped] == [
        f"{tmp_path / 'README.md'}: skipped: not a markdown question file (Markdown banks: front matter + "
        "one `## Question {#id .difficulty}` per question); name it on the command line to see why"]
    # named on the command line, it goes to its reader, which says what is wrong
    assert [r.name for _, r in sources.expand([tmp_path / "README.md"])] == ["markdown"]
    # a bank file that lost its front matter is still read, so its problem is reported, not skipped
    (tmp_path / "lost.md").write_text("## What is a tuple? {#tuple .easy}\n\nAn immutable sequence.\n")
    _library, problems, _warnings = sources.read_all(sources.expand([tmp_path]))
    assert [p.location.file for p in problems] == [str(tmp_path / "lost.md")], problems


def test_the_installed_entry_points_are_read_once_for_every_group(monkeypatch):
    """Each ``entry_points(group=...)`` reads every installed distribution's entry points again; a command needs two
    groups (its exporter and the readers' options): one reading serves both."""
    from importlib import metadata

    from qaexport import plugins

    reads = []
    monkeypatch.setattr(plugins, "entry_points", lambda **kw: reads.append(kw) or metadata.entry_points(**kw))
    plugins._installed_entry_points.cache_clear()
    plugins.registered.cache_clear()
    try:
        exporters = plugins.registered(plugins.EXPORTERS_GROUP)
        readers = plugins.registered(plugins.SOURCES_GROUP)
    finally:
        plugins._installed_entry_points.cache_clear()
        plugins.registered.cache_clear()
    assert len(reads) == 1
    assert {"epub", "pdf", "anki"} <= set(exporters) and {"markdown", "nuxt", "apkg"} <= set(readers)
    assert [ep.value for ep in exporters["epub"]] == [ep.value for ep in metadata.entry_points(
        group=plugins.EXPORTERS_GROUP) if ep.name == "epub"]


@pytest.fixture(scope="module")
def reader_site(tmp_path_factory) -> Path:
    """A reader plugin whose options check their values (a range, an encoding's name), as an exporter's do."""
    return _fake_dist(tmp_path_factory.mktemp("readers"), "table_reader", """
        [qaexport.sources]
        tabs = tabs_mod:Tabs
        """, {"tabs_mod": """
            import codecs
            from dataclasses import dataclass

            from qaexport.errors import UsageError
            from qaexport.plugins import option
            from qaexport.sources import SourceBase

            @dataclass
            class TabsOptions:
                skip_rows: int = option(0, "Rows to skip.")
                encoding: str = option("utf-8", "The files' encoding.")

                def __post_init__(self):
                    if self.skip_rows < 0:
                        raise UsageError(f"--skip-rows {self.skip_rows}: give 0 or more rows to skip")
                    try:
                        codecs.lookup(self.encoding)
                    except LookupError:
                        raise UsageError(f"--encoding {self.encoding}: unknown encoding; give one such as utf-8")

            class Tabs(SourceBase):
                name = "tabs"; suffixes = (".tabs",); description = "tab tables"
                Options = TabsOptions
                def read(self, path): raise AssertionError("never read: the options are wrong")
            """})


def test_a_readers_table_has_its_values_checked_with_every_other_problem_of_the_file(reader_site, sample_path,
                                                                                       tmp_path):
    """A reader's table ([apkg], a plugin's) was only type-checked: a value its options refuse stopped the command
    with the flag's words (no file, line or key) after the file's other problems had been told, or not at all. Now
    every wrong value, the reader's among them, one FILE:LINE line each, at once, in every command that reads."""
    (tmp_path / "qaexport.toml").write_text('[tabs]\nskip_rows = -1\nencoding = "no-such"\n\n[apkg]\n'
                                            'all_cards = "yes"\n\n[pdf]\npaper = "a5"\n', encoding="utf-8")
    expected = ('error: qaexport.toml:2: [tabs] skip_rows = -1: give 0 or more rows to skip\n'
                'error: qaexport.toml:3: [tabs] encoding = "no-such": unknown encoding; give one such as utf-8\n'
                'error: qaexport.toml:6: [apkg] all_cards = "yes": must be true or false\n'
                'error: qaexport.toml:9: [pdf] paper = "a5": must be one of a4, letter\n')
    for command in (["list"], ["validate"], ["pdf", "-o", "out.pdf"], ["convert", "--to", "markdown", "-o", "md"]):
        done = _cli(reader_site, *command, str(sample_path), cwd=tmp_path)
        assert (done.returncode, done.stderr) == (2, expected), (command, done.stderr)
    (tmp_path / "qaexport.toml").write_text('[tabs]\nskip_rows = 2\nencoding = "latin-1"\n', encoding="utf-8")
    done = _cli(reader_site, "list", str(sample_path), cwd=tmp_path)  # right values: read as ever
    assert done.returncode == 0 and done.stderr == "", done.stderr
    done = _cli(reader_site, "list", str(sample_path), "--skip-rows", "-3", cwd=tmp_path)  # a flag: its own words
    assert (done.returncode, done.stderr) == (2, "error: --skip-rows -3: give 0 or more rows to skip\n"), done.stderr


_FORMATS_WITHOUT_ANKI = """
import sys
sys.modules["anki"] = None  # what Python does for a module that is not there: every import of it fails
from typer.testing import CliRunner
from qaexport.cli import app
print(CliRunner().invoke(app, ["formats"]).output)
"""


def test_formats_marks_the_apkg_input_when_its_extra_is_not_installed():
    """trial10 #19: `qaexport formats` listed the apkg input though the anki package was not there (every read then
    said "needs the apkg extra"). Now the line says so, with the command that installs it; with the extra, not."""
    without = subprocess.run([sys.executable, "-c", _FORMATS_WITHOUT_ANKI], capture_output=True, text=True,
                             check=True).stdout
    apkg = next(line for line in without.splitlines() if line.strip().startswith("apkg "))
    assert apkg.endswith("[not available: reading Anki packages needs the apkg extra; install it with: pip install "
                         "'qaexport[apkg]']"), apkg
    assert "not available" not in without.replace(apkg, "")  # the other inputs are there
    with_extra = subprocess.run([sys.executable, "-m", "qaexport", "formats"], capture_output=True, text=True,
                                check=True).stdout
    assert "apkg " in with_extra and "not available" not in with_extra
