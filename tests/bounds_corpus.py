"""A generated corpus of hostile and oversized inputs, one case per class of bug, and the harness that runs them.

Every case is a whole ``qaexport`` process run on files generated here (most are too large to check in). It must
end within ``SECONDS`` and ``MEMORY_MIB`` of peak memory over the whole process tree (PSS summed over the tree,
so forked children are not counted twice), with exit 0 and a ``warning:`` line, or a one-line ``error:`` and exit
1 or 2; never a traceback; and with nothing left behind in the output folder or ``$TMPDIR``.

    python -m tests.bounds_corpus DIR            # generate every case into DIR and run it, printing a table
    python -m tests.bounds_corpus DIR NAME...    # only these cases
    python -m tests.bounds_corpus --patterns     # how each pattern that reads input grows on long runs

The whole corpus is this script's (a few minutes: the layout cases lay out big documents); the test suite runs the
cases that are not ``slow`` (``tests/test_bounds_corpus.py``, one or more per class, seconds each), and each
limit has its own test beside its code's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.proctree import tree_pss_kib

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 60.0
MEMORY_MIB = 1024.0


# ---------------------------------------------------------------------------------------------- files


def md_bank(questions: list[tuple[str, str]] | str, front: str = "framework: Bounds\ntopic: Hostile\nsubtopic: Case",
            ) -> str:
    """A Markdown bank: front matter and ``## question {#qN .easy}`` sections (or a raw body)."""
    body = questions if isinstance(questions, str) else "\n\n".join(
        f"## {q} {{#q{i} .easy}}\n\n{a}" for i, (q, a) in enumerate(questions, 1))
    return f"---\n{front}\n---\n\n{body}\n"


def payload(subtopics: list[dict], fw: str = "Bounds", topic: str = "Hostile") -> list:
    """A devalue payload of one topic page (the flat form, built by hand so cases can share references)."""
    from tests.payloads import flatten

    return flatten({"data": {"page": {"framework": {"name": fw}, "topic": {"name": topic}, "subtopics": subtopics}}})


def png(width: int, height: int) -> bytes:
    """A real PNG of any size, small on disk: one grey row repeated, compressed once."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + b"\x80" * width
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def apkg(path: Path, notes: list[tuple[str, dict[str, str]]], media: dict[str, bytes] | None = None,
         legacy: bool = True) -> Path:
    """A real package written by the official ``anki`` package: (note type, fields) per note."""
    from tests.anki_collection import new_collection
    from tests.apkg_decks import add, export

    work = path.parent / f".{path.name}.col"
    with new_collection(work) as col:
        for name, data in (media or {}).items():
            col.media.write_data(name, data)
        for notetype, fields in notes:
            add(col, notetype, "Bounds::Hostile", fields)
        export(col, path, legacy)
    shutil.rmtree(work)
    return path


def zip_members(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    return path


# ---------------------------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One hostile input and the command run on it. ``make(folder)`` writes the inputs and returns the command's
    arguments (``{out}`` in them is the output folder). ``expect``: "error" (exit 1 or 2, one ``error:`` line),
    "warn" (exit 0 and a ``warning:`` line), "ok" (exit 0)."""

    name: str
    cls: str  # the class of bug it stands for (the headings)
    make: Callable[[Path], list[str]]
    expect: str
    codes: tuple[int, ...] = ()
    says: str = ""  # a phrase the error or warning must contain
    slow: bool = False
    env: dict[str, str] = field(default_factory=dict)

    @property
    def exit_codes(self) -> tuple[int, ...]:
        return self.codes or ((1, 2) if self.expect == "error" else (0,))


def _alias_bomb(key: str) -> str:
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    place = {"order": "{name: Bounds, order: *a8}", "slug": "{name: Bounds, slug: *a8}"}[key]
    return "\n".join(levels) + f"\nframework: {place}\ntopic: Hostile\nsubtopic: Case"


def _yaml_bomb(key: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        return ["list", str(_write(d / "bomb.md", md_bank([("Q?", "A.")], front=_alias_bomb(key))))]
    return make


def _heading_spaces(d: Path) -> list[str]:
    return ["list", str(_write(d / "spaces.md", md_bank(f"## Question{' ' * 1_000_000}x {{#q1 .easy}}\n\nA.")))]


def _heading_braces(d: Path) -> list[str]:
    return ["list", str(_write(d / "braces.md", md_bank("## Question " + "{" * 200_000 + "#q1 .easy}\n\nA.")))]


def _heading_attr_runs(d: Path) -> list[str]:
    body = "## Q {" + "#" * 300_000 + " ." + "." * 300_000 + ' format="' + '"' * 100_000 + "}\n\nA."
    return ["list", str(_write(d / "attrs.md", md_bank(body)))]


def _star_underscore(d: Path) -> list[str]:
    return ["list", str(_write(d / "stars.md", md_bank([("Q?", "*_" * 2_500_000)])))]


def _markdown_runs(d: Path) -> list[str]:
    """Runs of each Markdown special character, each within the answer limit, one file each, rendered (anki: the
    quickest exporter)."""
    runs = ["*_" * 90_000, "[" * 180_000, "`" * 180_000, "![" * 90_000, "<" * 180_000, "&" * 180_000,
            "\\" * 180_000, "~" * 180_000, "|" * 180_000, "> " * 90_000, "- " * 90_000, "1. " * 60_000,
            "[a](" * 45_000, "**a" * 60_000, "_" * 180_000, "<a" * 90_000, "&#" * 90_000, "```" * 60_000,
            "x `" * 60_000, "[a]: " * 36_000, "*" * 180_000, "a\n" * 90_000, "    " * 45_000 + "x",
            "<!--" * 45_000, "](" * 90_000, "](<" * 60_000, "http://" * 25_000, "$" * 180_000]
    for i, text in enumerate(runs):
        _write(d / "runs" / f"run-{i:02d}.md", md_bank([(f"Run {i}?", text)], front=f"framework: Bounds\n"
                                                                                    f"topic: Runs\nsubtopic: Run {i}"))
    return ["anki", str(d / "runs"), "-o", "{out}/"]


def _html_huge_attrs(d: Path) -> list[str]:
    attrs = " ".join(f'a{i}="{"x" * 3_000_000}"' for i in range(10))
    page = f"<html><body><script {attrs}>1</script><script id=\"__NUXT_DATA__\">[]</script></body></html>"
    return ["list", str(_write(d / "page.html", page))]


def _html_tag_soup(d: Path) -> list[str]:
    return ["list", str(_write(d / "soup.html", "<!DOCTYPE html>" + "<a b='" * 2_000_000))]


def _nuxt_shared(command: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        # One subtopic of 30 questions, referenced 200,000 times from the page: 300 KB that decodes to 6 M questions.
        values: list = [{"data": 1}, {"page": 2}, {"subtopics": 3}, [4] * 200_000,
                        {"subtopic": 5, "questions": 6, "path": 7}, "Shared", [8] * 30,
                        "/bounds/hostile/shared", {"id": 9, "difficulty": 10, "q": 11, "a": 12}, "q1", "easy",
                        "Question?", "An answer " * 20]
        return [command, str(_write(d / "shared.json", json.dumps(values))), "-o", "{out}/"]
    return make


def _nuxt_deep_dag(d: Path) -> list[str]:
    """Each entry a list of two references to the next: 2^60 leaves from 60 entries."""
    values: list = [{"data": 1}] + [[i + 1, i + 1] for i in range(1, 60)] + ["leaf"]
    return ["list", str(_write(d / "dag.json", json.dumps(values)))]


def _apkg_type_in(d: Path) -> list[str]:
    text = "[[type:" * 150_000
    return ["list", str(apkg(d / "type-in.apkg", [("Basic", {"Front": "Type?", "Back": text})]))]


def _apkg_cloze(d: Path) -> list[str]:
    text = " ".join(f"{{{{c{i}::word{i}}}}}" for i in range(1, 5001))
    notes = [("Cloze", {"Text": text}), ("Basic", {"Front": "Q?", "Back": "A"})]  # skipped, the other read
    return ["validate", str(apkg(d / "cloze.apkg", notes))]


def _apkg_bank_bomb(d: Path) -> list[str]:
    """A package carrying a deck bank (parsed whole) of 40 MiB of tiny objects: some 1.1 GiB once parsed."""
    package = apkg(d / "bank.apkg", [("Basic", {"Front": "Q?", "Back": "A"})])
    with zipfile.ZipFile(package, "a", zipfile.ZIP_STORED) as zf:
        zf.writestr("qaexport-bank.json", b'{"qaexport": 1, "frameworks": [' + b"{}," * (40 * 2**20 // 3) + b"{}]}")
    return ["validate", str(package)]


def _apkg_originals_bomb(d: Path) -> list[str]:
    """A deck description carrying stored originals (``formats/anki_package``) of 30 MiB of ``[]`` once inflated:
    some 30 KiB in the description, under the 32 MiB originals limit, some 700 MiB of lists once parsed."""
    import base64

    from tests.anki_collection import new_collection
    from tests.apkg_decks import add, export, set_description

    raw = b'{"qaexport-originals": 1, "files": [], "n": [' + b"[]," * (30 * 2**20 // 3) + b"[]]}"
    payload = base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
    work, package = d / ".originals.col", d / "originals.apkg"
    with new_collection(work) as col:
        add(col, "Basic", "Bounds::Hostile", {"Front": "Q?", "Back": "A"})
        set_description(col, "Bounds::Hostile", "A deck.<!--qaexport-originals:" + payload + "-->")
        export(col, package, legacy=False)
    shutil.rmtree(work)
    return ["validate", str(package)]


def _apkg_image(side: int) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        package = apkg(d / f"png-{side}.apkg", [("Basic", {"Front": 'Picture? <img src="big.png">', "Back": "Yes"})],
                       media={"big.png": png(side, side)})
        return ["pdf", str(package), "-o", "{out}/"]
    return make


def _apkg_deep_media_map(d: Path) -> list[str]:
    from tests.apkg_decks import export  # noqa: F401  (anki must be importable, as for every package case)

    base = apkg(d / "base.apkg", [("Basic", {"Front": "Q?", "Back": "A"})])
    with zipfile.ZipFile(base) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    base.unlink()
    members["media"] = b'{"0": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    return ["list", str(zip_members(d / "deep-media.apkg", members))]


def _zip_bomb(path: Path) -> Path:
    """A package whose collection really inflates to 2 GiB of zeros after a valid SQLite header (deflate ~1000:1
    is refused by its declared ratio, so the header lies about the size, as real bombs do)."""
    from tests.apkg_bad import _patch_declared_size

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("collection.anki2", "w", force_zip64=True
                                                                            ) as dst:
        dst.write(b"SQLite format 3\0")
        zeros = bytes(16 << 20)
        for _ in range(128):
            dst.write(zeros)
    _patch_declared_size(path, "collection.anki2", 4096)
    return path


def _previous_bomb(d: Path) -> list[str]:
    bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
    return ["anki", str(bank), "-o", "{out}/", "--previous", str(_zip_bomb(d / "bomb.apkg"))]


def _output_dev_zero(d: Path) -> list[str]:
    bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
    link = d / "out-link" / "deck.apkg"
    link.parent.mkdir()
    link.symlink_to("/dev/zero")
    return ["anki", str(bank), "-o", str(link)]


def _fifo_in_folder(d: Path) -> list[str]:
    folder = d / "bank"
    _write(folder / "bank.md", md_bank([("Q?", "A.")]))
    os.mkfifo(folder / "pipe.md")
    return ["validate", str(folder)]


def _fifo_named(d: Path) -> list[str]:
    os.mkfifo(d / "pipe.md")
    return ["validate", str(d / "pipe.md")]


def _fifo_output(d: Path) -> list[str]:
    bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
    os.mkfifo(d / "deck.apkg")
    return ["anki", str(bank), "-o", str(d / "deck.apkg")]


def _fifo_config(d: Path) -> list[str]:
    bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
    os.mkfifo(d / "qaexport.toml")
    return ["validate", str(bank), "--config", str(d / "qaexport.toml")]


def _broken_symlink(d: Path) -> list[str]:
    folder = d / "bank"
    _write(folder / "bank.md", md_bank([("Q?", "A.")]))
    (folder / "gone.md").symlink_to(d / "nowhere.md")
    return ["validate", str(folder)]


def _markup_names(command: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        front = "framework: '[/x] [bold]Fw[/bold]'\ntopic: '[red]T[/'\nsubtopic: ':smile: [link=x]S'"
        bank = _write(d / "[apkg] bank.md", md_bank([("Why [/x] [bold]?", "[/] **A** [b]")], front=front))
        return [command, str(bank), *(["-o", "{out}/"] if command not in ("list", "validate") else [])]
    return make


def _order_digits(d: Path) -> list[str]:
    front = f"framework: {{name: Bounds, order: 1{'0' * 5000}}}\ntopic: Hostile\nsubtopic: Case"
    return ["list", str(_write(d / "order.md", md_bank([("Q?", "A.")], front=front)))]


def _order_float_digits(d: Path) -> list[str]:
    front = f"framework: {{name: Bounds, order: 1{'0' * 5000}.5}}\ntopic: Hostile\nsubtopic: Case"
    return ["list", str(_write(d / "order.md", md_bank([("Q?", "A.")], front=front)))]


def _surrogates(command: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        sub = {"subtopic": "Sub \udc80", "path": "/fw/topic/sub", "questions": [
            {"id": "q1", "difficulty": "easy", "q": "Lone \ud83d surrogate?", "a": "Answer \udca9 here"}]}
        return [command, str(_write(d / "surrogates.json", json.dumps(payload([sub], "Fw \ud800", "Topic \udfff")))),
                "-o", "{out}/"]
    return make


def _deep_toml(d: Path) -> list[str]:
    bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
    config = _write(d / "deep.toml", "title = " + "[" * 100_000 + "]" * 100_000 + "\n")
    return ["validate", str(bank), "--config", str(config)]


def _deep_toml_tables(d: Path) -> list[str]:
    bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
    config = _write(d / "deep.toml", "x = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n")
    return ["validate", str(bank), "--config", str(config)]


def _ledger_bad_mod(d: Path) -> list[str]:
    import sqlite3

    from qaexport.exporters.anki.identity import note_guid  # the note this bank makes

    bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
    state = d.parent / "state"  # the run's QAEXPORT_STATE_DIR
    state.mkdir(exist_ok=True)
    conn = sqlite3.connect(state / "anki-notes.sqlite3")
    conn.execute("CREATE TABLE notes (id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, mod INTEGER NOT NULL, "
                 "run INTEGER NOT NULL) WITHOUT ROWID")
    conn.execute("INSERT INTO notes VALUES (?, 'x', 'not a number', 1)", (note_guid("bounds/hostile/case/q1"),))
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
    conn.execute("INSERT INTO meta VALUES ('runs', 'many')")
    conn.commit()
    conn.close()
    return ["anki", str(bank), "-o", "{out}/"]


def _previous_bad_mod(d: Path) -> list[str]:
    import sqlite3

    bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
    db = d / "c.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (guid TEXT, mod TEXT, flds TEXT, tags TEXT)")
    conn.execute("INSERT INTO notes VALUES ('g', 'not a number', 'a\x1fb', '')")
    conn.execute("CREATE TABLE col (models TEXT)")
    conn.execute("INSERT INTO col VALUES ('[[[[')")
    conn.commit()
    conn.close()
    previous = zip_members(d / "previous.apkg", {"collection.anki2": db.read_bytes(), "media": b"{}"})
    db.unlink()
    return ["anki", str(bank), "-o", "{out}/", "--previous", str(previous)]


def _symlinked_subfolder(command: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        bank = _write(d / "bank.md", md_bank([("Q?", "A.")]))
        outside = d / "outside"
        outside.mkdir()
        target = d / "target"
        target.mkdir()
        if command == "convert":
            (target / "bounds").symlink_to(outside, target_is_directory=True)
            return ["convert", str(bank), "--to", "markdown", "-o", str(target), "--force"]
        (target / "bank").symlink_to(outside, target_is_directory=True)
        return ["init", str(target)]
    return make


def _characters(command: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        weird = "\u202eevil\u202c \u200bzero\u2066iso\u2069 \x01\x07ctl\x1b \ufffe\uffff\ufeff\u2028 \x7f\x85"
        sub = {"subtopic": f"Sub {weird}", "path": "/fw/topic/sub", "questions": [
            {"id": "q1", "difficulty": "easy", "q": f"Q {weird}?", "a": f"A {weird}"}]}
        return [command, str(_write(d / "chars.json", json.dumps(payload([sub], f"Fw {weird}", f"Topic {weird}")))),
                "-o", "{out}/"]
    return make


def _long_word(command: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        return [command, str(_write(d / "word.md", md_bank([("Word?", "x" * 190_000)]))), "-o", "{out}/"]
    return make


def _long_inline_code(d: Path) -> list[str]:
    return ["pdf", str(_write(d / "code.md", md_bank([("Code?", "`" + "y" * 190_000 + "`")]))), "-o", "{out}/"]


def _long_code_line(d: Path) -> list[str]:
    return ["pdf", str(_write(d / "line.md", md_bank([("Line?", "```\n" + "z" * 190_000 + "\n```")]))),
            "-o", "{out}/"]


def _wide_table(d: Path) -> list[str]:
    cols = 3000
    table = "|" + "|".join(f"c{i}" for i in range(cols)) + "|\n|" + "---|" * cols + ("\n|" + "x|" * cols) * 20
    return ["pdf", str(_write(d / "table.md", md_bank([("Table?", table)]))), "-o", "{out}/"]


def _long_table(d: Path) -> list[str]:
    table = "| a | b |\n|---|---|\n" + "| x | y |\n" * 19_000  # within the answer limit
    return ["pdf", str(_write(d / "rows.md", md_bank([("Rows?", table)]))), "-o", "{out}/"]


def _code_lines(command: str) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        code = "```\n" + "x\n" * 99_990 + "```"  # 100,000 lines within the answer limit
        return [command, str(_write(d / "lines.md", md_bank([("Lines?", code)]))), "-o", "{out}/"]
    return make


def _deep_nesting(d: Path) -> list[str]:
    nested = "\n".join(["> " * 5000 + "quote", "", "\n".join("  " * i + "- item" for i in range(300))])
    return ["pdf", str(_write(d / "nested.md", md_bank([("Nested?", nested)]))), "-o", "{out}/"]


def _many_headings(d: Path) -> list[str]:
    return ["list", str(_write(d / "heads.md", md_bank("## Q {#a .easy}\n\nA\n\n" + "## \n" * 400_000)))]


CASES: list[Case] = [
    # Unbounded memory or time
    Case("yaml-alias-bomb-order", "memory", _yaml_bomb("order"), "error", says="alias"),
    Case("yaml-alias-bomb-slug", "memory", _yaml_bomb("slug"), "error", says="alias"),
    Case("heading-1mb-spaces", "time", _heading_spaces, "error", says="limit"),
    Case("heading-unbalanced-braces", "time", _heading_braces, "error", says=":7:"),
    Case("heading-attribute-runs", "time", _heading_attr_runs, "error"),
    Case("heading-many-empty", "time", _many_headings, "error", slow=True),
    Case("markdown-5mb-star-underscore", "time", _star_underscore, "error", says="limit"),
    Case("markdown-special-runs", "time", _markdown_runs, "ok", slow=True),
    Case("html-page-huge-attributes", "memory", _html_huge_attrs, "error"),
    Case("html-page-tag-soup", "time", _html_tag_soup, "error"),
    Case("nuxt-shared-references-epub", "memory", _nuxt_shared("epub"), "error", says="expand"),
    Case("nuxt-shared-references-anki", "memory", _nuxt_shared("anki"), "error", says="expand"),
    Case("nuxt-reference-dag", "memory", _nuxt_deep_dag, "error", says="expand"),
    Case("apkg-type-in-150k", "time", _apkg_type_in, "error", says="limit"),
    Case("apkg-cloze-5000", "memory", _apkg_cloze, "warn", says="over the 5,000 limit"),  # one question, skipped
    Case("apkg-bank-json-bomb", "memory", _apkg_bank_bomb, "warn", says="too many small values"),
    Case("apkg-originals-json-bomb", "memory", _apkg_originals_bomb, "warn", says="too many small values"),
    Case("apkg-png-12000", "memory", _apkg_image(12_000), "warn", says="big.png", slow=True),
    Case("apkg-png-30000", "memory", _apkg_image(30_000), "warn", says="big.png", slow=True),
    Case("apkg-deep-media-map", "traceback", _apkg_deep_media_map, "error", says="media map"),
    Case("previous-zip-bomb", "memory", _previous_bomb, "error", says="bomb.apkg"),
    Case("output-symlink-dev-zero", "memory", _output_dev_zero, "error", says="deck.apkg"),
    Case("long-word-pdf", "time", _long_word("pdf"), "ok", slow=True),
    Case("long-word-cards", "time", _long_word("cards"), "ok", slow=True),
    Case("long-inline-code-pdf", "time", _long_inline_code, "ok", slow=True),
    Case("long-code-line-pdf", "time", _long_code_line, "ok", slow=True),
    Case("wide-table-pdf", "memory", _wide_table, "warn", says="columns", slow=True),
    Case("long-table-pdf", "time", _long_table, "ok", slow=True),
    Case("code-100k-lines-cards", "time", _code_lines("cards"), "warn", slow=True),
    Case("code-100k-lines-pdf", "time", _code_lines("pdf"), "ok", slow=True),
    Case("deep-nesting-pdf", "time", _deep_nesting, "ok", slow=True),
    # Hangs
    Case("fifo-in-folder", "hang", _fifo_in_folder, "warn", says="pipe.md"),
    Case("fifo-named", "hang", _fifo_named, "error", says="pipe.md"),
    Case("fifo-output", "hang", _fifo_output, "error", says="deck.apkg"),
    Case("fifo-config", "hang", _fifo_config, "error", codes=(2,), says="qaexport.toml"),
    # Tracebacks instead of one line
    Case("markup-in-names-list", "traceback", _markup_names("list"), "ok"),
    Case("markup-in-names-validate", "traceback", _markup_names("validate"), "ok"),
    Case("markup-in-names-pdf", "traceback", _markup_names("pdf"), "ok", slow=True),
    Case("order-5000-digits", "traceback", _order_digits, "error", says="order"),
    Case("order-5000-digits-float", "traceback", _order_float_digits, "error", says="order"),
    Case("lone-surrogates-anki", "traceback", _surrogates("anki"), "ok"),
    Case("lone-surrogates-epub", "traceback", _surrogates("epub"), "ok"),
    Case("deep-toml-arrays", "traceback", _deep_toml, "error", codes=(2,), says="deep.toml"),
    Case("deep-toml-tables", "traceback", _deep_toml_tables, "error", codes=(2,), says="deep.toml"),
    Case("ledger-non-numeric-mod", "traceback", _ledger_bad_mod, "warn", says="ledger"),
    Case("previous-non-numeric-mod", "traceback", _previous_bad_mod, "error", says="previous.apkg"),
    Case("broken-symlink-in-folder", "traceback", _broken_symlink, "warn", says="gone.md"),
    Case("convert-into-symlinked-folder", "traceback", _symlinked_subfolder("convert"), "error", says="symbolic"),
    Case("init-into-symlinked-folder", "traceback", _symlinked_subfolder("init"), "error", says="symbolic"),
    # Characters
    Case("control-characters-epub", "characters", _characters("epub"), "ok"),
    Case("control-characters-anki", "characters", _characters("anki"), "ok"),
    Case("control-characters-pdf", "characters", _characters("pdf"), "ok", slow=True),
]
BY_NAME = {case.name: case for case in CASES}


# ---------------------------------------------------------------------------------------------- harness


@dataclass
class Outcome:
    code: int | None  # None: killed for going over a limit
    seconds: float
    peak_mib: float
    stdout: str
    stderr: str
    left_in_output: list[str]
    left_in_tmp: list[str]
    over: str = ""  # which limit was passed

    def problems(self, case: Case) -> list[str]:
        """What this run did wrong, in words (empty: the case holds)."""
        found = []
        if self.over:
            found.append(f"over the {self.over} limit")
        elif self.code not in case.exit_codes:
            found.append(f"exit {self.code}, expected {case.exit_codes}")
        if "Traceback" in self.stderr or "Traceback" in self.stdout:
            found.append("printed a traceback")
        errors = [line for line in self.stderr.splitlines() if line.startswith("error:")]
        if case.expect == "error" and not self.over:
            if len(errors) != 1:
                found.append(f"{len(errors)} error lines, expected one")
            other = [line for line in self.stderr.splitlines() if line.strip() and not line.startswith(
                ("error:", "warning:"))]
            if other:
                found.append(f"stray output: {other[0][:120]!r}")
        if case.expect == "warn" and not any(line.startswith("warning:") for line in self.stderr.splitlines()):
            found.append("no warning")
        if case.says and not self.over and case.says.lower() not in (self.stderr + self.stdout).lower():
            found.append(f"does not say {case.says!r}")
        if any(len(line) > 2000 for line in self.stderr.splitlines()):
            found.append("a message line over 2,000 characters")
        if self.left_in_tmp:
            found.append(f"left in $TMPDIR: {self.left_in_tmp[:3]}")
        if self.code != 0 and self.left_in_output:
            found.append(f"left in the output folder: {self.left_in_output[:3]}")
        return found


def _listing(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def run(args: list[str], work: Path, env: dict[str, str] | None = None, seconds: float = SECONDS,
        memory_mib: float = MEMORY_MIB) -> Outcome:
    """``qaexport ARGS`` in its own session, watched: killed (whole tree) past ``seconds`` or ``memory_mib``."""
    out, tmp = work / "out", work / "tmp"
    for folder in (out, tmp):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    environment = {**os.environ, "TMPDIR": str(tmp), "QAEXPORT_CACHE_DIR": str(work / "cache"),
                   "QAEXPORT_STATE_DIR": str(work / "state"), "COLUMNS": "200", **(env or {})}
    argv = [a.replace("{out}", str(out)) for a in args]
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "qaexport", *argv], cwd=work, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    peak, over = 0, ""
    done = threading.Event()

    def watch() -> None:
        nonlocal peak, over
        while not done.is_set():
            peak = max(peak, tree_pss_kib(proc.pid))
            elapsed = time.monotonic() - start
            if peak / 1024 > memory_mib or elapsed > seconds:
                over = "memory" if peak / 1024 > memory_mib else "time"
                os.killpg(proc.pid, signal.SIGKILL)
                return
            done.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    seconds_taken = time.monotonic() - start
    done.set()
    watcher.join()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # anything of the run's session still alive
    return Outcome(None if over else proc.returncode, seconds_taken, peak / 1024,
                   stdout.decode(errors="replace"), stderr.decode(errors="replace"), _listing(out), _listing(tmp),
                   over)


def run_case(case: Case, folder: Path, seconds: float = SECONDS) -> Outcome:
    """Generate ``case`` into ``folder`` (emptied first) and run it (killed past ``seconds``)."""
    shutil.rmtree(folder, ignore_errors=True)
    inputs = folder / "in"
    inputs.mkdir(parents=True)
    args = case.make(inputs)
    return run(args, folder, case.env, seconds=seconds)


def _patterns() -> dict[str, tuple[Callable[[str], object], list[str]]]:
    """Every pattern and scanner that reads input, with the units of the runs it is measured on: the audited
    regular expressions' entry points (``tests/test_regex_bounds.py``) and the scanners that replaced the patterns
    that backtracked."""
    from qaexport.formats.markdown_bank import _ATTR_ITEM, split_attributes
    from qaexport.sources.apkg import _type_in_fields
    from qaexport.sources.markdown import MarkdownReader
    from tests.test_regex_bounds import ENTRY_POINTS

    def attribute_items(raw: str) -> None:
        pos = 0
        while pos < len(raw) and (m := _ATTR_ITEM.match(raw, pos)):
            pos = max(m.end(), pos + 1)

    return {**ENTRY_POINTS,
            "markdown heading attributes": (split_attributes, ["{", "}", "#", ".", " ", "\t", "=", '"', "{#", "}}"]),
            "markdown attribute items": (attribute_items, ["#", ".", "a", "=", '"', " ", "-", "a=", '="']),
            "markdown sniffing (4 KiB)": (lambda t: MarkdownReader().sniff(("## " + t).encode()[:4096]),
                                          ["{#", "{", "#", "{.}", " {#a"]),
            "apkg [[type: scanner": (lambda t: list(_type_in_fields(t)),
                                     ["[[type:", "[[type:a]", "[[type:cloze:", "]", "[[", "[[type:]]"])}


def _seconds(function: Callable[[str], object], text: str) -> float:
    """The quickest of three runs (a shared machine adds noise, never speed)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - start)
    return best


def patterns() -> int:
    """How each pattern's time grows from 50,000 to 200,000 characters (the answer limit) of runs of each of its
    units and of all of them in turn: four times the text may cost about four times the time, never sixteen.
    Prints a row per pattern (its worst run); 1 if one grew superlinearly."""
    from tests.test_regex_bounds import run_of

    failed = 0
    for name, (function, units) in _patterns().items():
        worst = (0.0, 0.0, 0.0, "")
        for chosen in [[unit] for unit in units] + [units]:
            small, big = _seconds(function, run_of(chosen, 50_000)), _seconds(function, run_of(chosen, 200_000))
            ratio = big / max(small, 1e-6)
            if big >= worst[1]:
                worst = (small, big, ratio, "+".join(chosen))
        small, big, ratio, run = worst
        bad = big >= 0.5 and ratio >= 9
        failed += bad
        print(f"{'FAIL' if bad else 'ok  '} {name:<52} {small * 1000:8.1f} ms / {big * 1000:8.1f} ms  x{ratio:4.1f}  "
              f"(slowest: {run[:40]!r})", flush=True)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--patterns"]:
        return patterns()
    root = Path(argv[0])
    chosen = [BY_NAME[n] for n in argv[1:]] or CASES
    failed = 0
    for case in chosen:
        outcome = run_case(case, root / case.name)
        problems = outcome.problems(case)
        failed += bool(problems)
        last = (outcome.stderr.strip().splitlines() or [""])[-1][:150]
        print(f"{'FAIL' if problems else 'ok  '} {case.name:<34} exit {outcome.code!s:>4} {outcome.seconds:6.1f} s "
              f"{outcome.peak_mib:7.0f} MiB  {'; '.join(problems) or last}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
