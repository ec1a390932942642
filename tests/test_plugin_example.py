"""The example third-party package (examples/qaexport-csv), installed for real and run through the CLI."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.anki_collection import new_collection

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "qaexport-csv"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """pip-installs the example package (built from its own pyproject) into a folder of its own, so the
    rest of the suite never sees its plugins."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / "qaexport-csv"  # setuptools builds in the source tree: a copy
    shutil.copytree(EXAMPLE, source)
    # Built with the setuptools the test extra installed (no build isolation): a test never reaches the network.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(target), str(source)], check=True, capture_output=True, timeout=300)
    return target


def _cli(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    return subprocess.run([sys.executable, "-m", "qaexport", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def test_the_csv_source_reads_the_sample(site, tmp_path):
    result = _cli(site, "list", str(EXAMPLE / "sample.csv"), "--keys", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["git/everyday-git/saving-work/git-stash",
                                     "git/everyday-git/history/git-rebase-vs-merge",
                                     "git/debugging/finding-regressions/git-bisect"]
    formats = _cli(site, "formats", cwd=tmp_path).stdout
    assert "csv" in formats and ".tsv" in formats and "tsv " in formats


def test_a_pdf_from_the_csv_source_holds_every_question(site, tmp_path):
    out = tmp_path / "git.pdf"
    result = _cli(site, "pdf", str(EXAMPLE / "sample.csv"), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(p.extract_text() for p in PdfReader(out).pages)
    with (EXAMPLE / "sample.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            assert row["question"].replace("`", "")[:30] in text.replace("\n", " ")


def test_a_row_without_id_warns_and_a_bad_row_is_located(site, tmp_path):
    bank = tmp_path / "bank.csv"
    bank.write_text("question,answer,difficulty\nWhat is a tuple?,An immutable sequence.,easy\n"
                    "Second?,Yes.,legendary\n")
    result = _cli(site, "validate", str(bank), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith(f"warning: {bank}:2: question 'what-is-a-tuple'") and "derived from the question "
               "text" in line for line in lines), result.stderr
    assert any(f"{bank}:3: question 'second'" in line and "difficulty is unknown ('legendary')" in line
               for line in lines), result.stderr


def test_the_tsv_exporter_imports_into_anki(site, tmp_path, sample_path):
    out = tmp_path / "fastapi.tsv"
    result = _cli(site, "tsv", str(sample_path), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from anki.import_export_pb2 import ImportCsvRequest

    with new_collection(tmp_path / "col") as col:
        metadata = col.get_csv_metadata(path=str(out), delimiter=None)
        assert list(metadata.column_labels) == ["Question", "Answer", "Tags"]
        col.import_csv(ImportCsvRequest(path=str(out), metadata=metadata))
        assert col.note_count() == 34
        notes = [col.get_note(n) for n in col.find_notes("")]
        assert {t for n in notes for t in n.tags if t.startswith("difficulty::")} == {
            "difficulty::easy", "difficulty::medium", "difficulty::hard"}
        assert any(n.fields[0].startswith("What is Uvicorn") for n in notes)


def test_quizlet_flavour_is_one_card_per_line(site, tmp_path):
    out = tmp_path / "q.tsv"
    result = _cli(site, "tsv", str(EXAMPLE / "sample.csv"), "--flavour", "quizlet", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and all(line.count("\t") == 1 for line in lines)


def test_the_example_package_own_tests_pass_with_qaexport_testing(site, tmp_path):
    """The plugin's own suite (examples/qaexport-csv/tests) uses ``qaexport.testing``: run against the installed
    package, as its author would run it."""
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout, result.stdout
    assert "testing" in (EXAMPLE / "tests" / "conftest.py").read_text()
