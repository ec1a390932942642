"""Question banks kept as spreadsheets: CSV or TSV with a header row.

Columns (any order, names case-insensitive): ``question`` and ``answer`` (required),
``difficulty`` (easy/medium/hard), ``id``, ``framework``, ``topic``, ``subtopic``. Without
the place columns every row goes to a framework named after the file, topic and subtopic
"General". The reader only turns rows into records with their line numbers; qaexport's
model applies every rule (ids, slugs, limits, duplicates) the same way as for any source.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from qaexport.errors import InputError, problem
from qaexport.model import Location
from qaexport.records import Node, QuestionRecord, ReadResult, SubtopicRecord
from qaexport.sources import SourceBase

MAX_BYTES = 32 * 1024 * 1024
REQUIRED = ("question", "answer")
KNOWN = {"question", "answer", "difficulty", "id", "framework", "topic", "subtopic"}


class CsvReader(SourceBase):
    """CSV/TSV question tables with a header row (question, answer, difficulty, id, framework, topic, subtopic)."""

    name = "csv"
    suffixes = (".csv", ".tsv")
    description = "CSV/TSV tables with a header: question, answer, difficulty, id, framework, topic, subtopic"

    def sniff(self, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].lower()
        return b"question" in first and b"answer" in first

    def read(self, path: Path) -> ReadResult:
        try:
            if path.stat().st_size > MAX_BYTES:
                raise InputError(path, f"file is over the {MAX_BYTES // 2**20} MiB limit; split the table")
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(path, f"not UTF-8 text (invalid byte at offset {exc.start}); "
                                   "save the table as UTF-8 CSV") from None
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = [h.strip().lower() for h in next(rows)]
        except StopIteration:
            raise InputError(path, "empty file; the first row must name the columns (question, answer, ...)") \
                from None
        except csv.Error as exc:
            raise InputError(path, f"not a valid table ({exc})", line=1) from None
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InputError(path, f"the header has no {' or '.join(missing)} column; name the columns in the "
                                   f"first row (known: {', '.join(sorted(KNOWN))})", line=1)
        unknown = [h for h in header if h and h not in KNOWN]
        result = ReadResult()
        if unknown:
            result.warnings.append(problem(path, f"ignoring unknown column(s) {', '.join(unknown)}", "header", 1))
        default_fw = path.stem.replace("-", " ").replace("_", " ").strip().title() or "Questions"
        places: dict[tuple[str, str, str], SubtopicRecord] = {}
        try:
            for row in rows:
                line = rows.line_num
                if not any(cell.strip() for cell in row):
                    continue
                cells = dict(zip(header, row, strict=False))

                def cell(name: str, cells: dict[str, str] = cells) -> str:
                    return cells.get(name, "").strip()

                place = (cell("framework") or default_fw, cell("topic") or "General", cell("subtopic") or "General")
                record = places.get(place)
                if record is None:
                    record = places[place] = SubtopicRecord(Node(place[0]), Node(place[1]), Node(place[2]), [],
                                                            Location(str(path), line))
                qid = cells.get("id")
                record.questions.append(QuestionRecord(
                    None if qid is None or not qid.strip() else qid.strip(),  # no id: derived from the text
                    cell("difficulty") or None, cells.get("question"), cells.get("answer"),
                    Location(str(path), line, f"row {line}")))
        except csv.Error as exc:
            raise InputError(path, f"not a valid table ({exc}); check the quotes", line=rows.line_num) from None
        result.subtopics = list(places.values())
        return result

