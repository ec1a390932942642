"""The plugin pair tested the way any qaexport plugin can be: with ``qaexport.testing``, against the real readers,
renderer and build the command line uses."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from qaexport_csv.exporter import TsvExporter
from qaexport_csv.source import CsvReader

from qaexport import testing
from qaexport.errors import InputError

SAMPLE = Path(__file__).resolve().parent.parent / "sample.csv"


def test_the_tsv_exporter_honours_the_contract(qaexport_library, qaexport_output):
    testing.check_exporter(TsvExporter, qaexport_library, qaexport_output)


def test_the_anki_flavour_has_headers_and_one_row_per_question(qaexport_library, qaexport_output):
    text = testing.exported(TsvExporter, qaexport_library, qaexport_output).decode()
    headers = [line for line in text.splitlines() if line.startswith("#")]
    assert headers == ["#separator:tab", "#html:false", "#columns:Question\tAnswer\tTags", "#tags column:3"]
    rows = list(csv.reader(io.StringIO(text.split("#tags column:3\n", 1)[1]), delimiter="\t"))
    assert [row[0] for row in rows] == [ref.question.question for ref in qaexport_library.questions()]
    assert rows[0][2] == "difficulty::easy python::basics::types"
    assert rows[2][2] == "python::basics::types"  # the unrated question: no difficulty tag
    assert "```python" in rows[0][1]  # the PLAIN scheme: the Markdown as written


def test_the_quizlet_flavour_is_one_line_per_card(qaexport_library, qaexport_output):
    text = testing.exported(TsvExporter, qaexport_library, qaexport_output, flavour="quizlet").decode()
    lines = text.splitlines()
    assert len(lines) == qaexport_library.count() == 4
    assert all(line.count("\t") == 1 for line in lines)
    assert " / " in lines[0]  # the answer's line breaks


def test_the_csv_reader_honours_the_contract_and_reads_the_sample():
    library = testing.check_source(CsvReader, SAMPLE)
    assert [ref.question.key for ref in library.questions()] == [
        "git/everyday-git/saving-work/git-stash", "git/everyday-git/history/git-rebase-vs-merge",
        "git/debugging/finding-regressions/git-bisect"]


def test_an_unknown_column_warns_and_a_header_without_answer_is_refused_in_one_line(tmp_path):
    bank = tmp_path / "bank.csv"
    bank.write_text("question,answer,colour\nWhat is a tuple?,An immutable sequence.,red\n")
    result = testing.read(CsvReader, bank)
    assert [(w.location.line, w.message) for w in result.warnings] == [(1, "ignoring unknown column(s) colour")]
    bank.write_text("question,reply\nWhat is a tuple?,An immutable sequence.\n")
    with pytest.raises(InputError, match=r"the header has no answer column"):
        testing.read(CsvReader, bank)
