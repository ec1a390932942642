"""Lexer patterns kept between runs (``render.patterns``, ``render.compat``): the same patterns, compiled once.

A pattern built from stored code must be the pattern ``re.compile`` makes (a pattern's equality covers its engine
code), a run with a store must compile nothing the store holds, and whatever is found in the store (damaged, of
another interpreter, too big) costs a compile, never a different HTML or an error.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name

from qaexport.render import compat, patterns

pytestmark = pytest.mark.skipif(not compat.SUPPORTED, reason="this interpreter's compiler is not mirrored")

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("python", "bash", "yaml", "docker", "javascript", "html", "css", "sql", "rust", "csharp", "toml", "go")


def _rules(lang: str) -> list[tuple[str, int]]:
    lexer = get_lexer_by_name(lang)
    return [(rule[0].__self__.pattern, rule[0].__self__.flags) for rules in lexer._tokens.values()
            for rule in rules if isinstance(getattr(rule[0], "__self__", None), re.Pattern)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_pattern_from_its_code_is_the_pattern_re_compiles(lang):
    rules = _rules(lang)
    assert len(rules) >= 5
    for text, flags in rules:
        expected = re.compile(text, flags)
        made, code = compat.compile_keeping_code(text, flags)
        assert made == expected, text  # flags, text and the engine's code
        assert (made.groups, made.groupindex) == (expected.groups, expected.groupindex)
        again = compat.from_code(text, code)
        assert again == expected, text
        assert (again.groups, dict(again.groupindex)) == (expected.groups, dict(expected.groupindex))


def test_named_groups_survive_the_code():
    text = r"(?P<word>[a-z]+)\s+(?P<num>\d+)|(x)"
    made, code = compat.compile_keeping_code(text, 0)
    again = compat.from_code(text, code)
    assert made == again == re.compile(text) and again.groupindex == {"word": 1, "num": 2}
    assert again.match("abc 12").group("num") == "12"


def test_damaged_code_is_refused_not_run():
    _, code = compat.compile_keeping_code(r"(?:def)()|(?:[a-z]+)()", 0)
    assert compat.from_code("x", dataclasses.replace(code, code=code.code[:-8])) is None  # cut short
    assert compat.from_code("x", dataclasses.replace(code, code=b"\xff" * len(code.code))) is None
    assert compat.from_code("x", dataclasses.replace(code, code=b"abc")) is None  # not whole words


SCRIPT = """
import sys
from pathlib import Path
from qaexport.render import Highlighter, compat, patterns
compiles = []
original = compat.compile_keeping_code
def counting(text, flags):
    compiles.append(text)
    return original(text, flags)
compat.compile_keeping_code = counting
if sys.argv[1] != "-":
    patterns.use_store(Path(sys.argv[1]))
code = Path(sys.argv[2]).read_text()
h = Highlighter()
h.expect({"python": 10**6})  # join the rules at once, as a big book does
html = h.format(code, "python", h.tokens(code, "python")) + h.format(code, "bash", h.tokens(code, "bash"))
patterns.save()
print(len(compiles))
print(html)
"""


def _run(store: Path | str, code: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(store), str(code)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    count, html = done.stdout.split("\n", 1)
    return int(count), html


@pytest.fixture
def code(tmp_path) -> Path:
    path = tmp_path / "code.py"
    path.write_text((ROOT / "qaexport" / "render" / "lexing.py").read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_a_second_run_compiles_nothing_and_highlights_the_same(tmp_path, code):
    store = tmp_path / "store"
    plain_count, plain = _run("-", code)
    assert plain_count == 0  # no store: re.compile as before, nothing kept
    first_count, first = _run(store, code)
    assert first_count > 100  # Pygments' tables and the joined patterns, compiled once
    assert len(list(store.glob("patterns-*.json"))) == 1
    second_count, second = _run(store, code)
    assert second_count == 0
    assert first == second == plain


@pytest.mark.parametrize("damage", ["truncated", "garbage", "other interpreter", "digest", "code", "too big"])
def test_whatever_is_in_the_store_costs_a_compile_never_the_html(tmp_path, code, damage):
    store = tmp_path / "store"
    _, expected = _run(store, code)
    [kept] = store.glob("patterns-*.json")
    stored = json.loads(kept.read_text())
    if damage == "truncated":
        kept.write_bytes(kept.read_bytes()[:1000])
    elif damage == "garbage":
        kept.write_bytes(b"\x00\xff" * 100)
    elif damage == "other interpreter":
        kept.write_text(json.dumps({**stored, "key": stored["key"].replace("sre-", "sre-9")}))
    elif damage == "digest":
        kept.write_text(json.dumps({**stored, "body": stored["body"].replace('"firsts"', '"firsts" ', 1)}))
    elif damage == "code":  # a consistent file whose every code is refused by the engine
        body = json.loads(stored["body"])
        for entry in body["patterns"]:
            entry[3] = "AAAA"
        text = json.dumps(body)
        kept.write_text(json.dumps({**stored, "body": text, "digest": patterns._digest(text)}))
    else:
        kept.write_bytes(kept.read_bytes() + b" " * patterns.MAX_BYTES)
    count, html = _run(store, code)
    assert html == expected
    assert count > 0
    assert _run(store, code)[0] == 0  # written again, whole


def test_the_cli_keeps_the_patterns_in_the_font_store(tmp_path, sample_path):
    store = tmp_path / "fonts"
    env = {**os.environ, "QAEXPORT_FONT_DIR": str(store), "QAEXPORT_CACHE_DIR": str(tmp_path / "cache"),
           "SOURCE_DATE_EPOCH": "1700000000"}
    for name in ("a", "b"):
        out = tmp_path / f"{name}.epub"
        subprocess.run([sys.executable, "-m", "qaexport", "epub", str(sample_path), "-o", str(out), "--no-cache"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
    assert [p.name for p in store.glob("patterns-*.json")] == [f"patterns-cpython-{sys.version_info[0]}"
                                                               f"{sys.version_info[1]}.json"]
    assert (tmp_path / "a.epub").read_bytes() == (tmp_path / "b.epub").read_bytes()


def test_with_the_patterns_in_the_store_the_children_start_before_any_chunk(tmp_path, sample_library, monkeypatch):
    """Without the store, this process renders WARM_CHUNKS chunks before it forks (the children inherit what they
    compiled); with it, it forks at once (a child builds the patterns from their code as cheaply)."""
    import qaexport.render as r
    from qaexport.render import Highlighter, Scheme, render_library

    monkeypatch.setattr(r, "POOL_THRESHOLD", 1)
    order: dict[str, list] = {}
    patterns.use_store(tmp_path / "store")
    patterns.compiled(r"\w+", 0)  # (this process may hold every lexer of the sample already: nothing to compile)
    patterns.save()
    try:
        for name in ("empty store", "store"):
            patterns.use_store(tmp_path / name)
            calls: list = []
            rendered = render_library(sample_library, Highlighter(), (Scheme.COMPACT,), advance=calls.append,
                                      workers=2, meanwhile=lambda calls=calls: calls.append("meanwhile"))
            order[name] = calls
            assert len(rendered[Scheme.COMPACT]) == 34
    finally:
        patterns.use_store(None)
    assert order["empty store"].index("meanwhile") == r.WARM_CHUNKS
    assert order["store"].index("meanwhile") == 0
    assert sum(n for n in order["store"] if n != "meanwhile") == 34
