"""Every pattern a CLI run compiles kept between runs (``render.patterns.keep_every_pattern``, ``render.compat``): the
command's font store keeps them, a later process compiles none of them again and gets the very patterns ``re``
makes, the flags are part of what a pattern is kept under, and a run that meets only a pattern or two not kept (one
Markdown-it joins from a set, in another order with each hash seed) does not write the store again.

Each case runs in a fresh interpreter: the routing is once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qaexport.render import compat

pytestmark = pytest.mark.skipif(not compat.SUPPORTED, reason="this interpreter's compiler is not mirrored")

#: In a fresh interpreter: the CLI's store named (``cli.common.use_font_store``), patterns compiled through ``re``,
#: the store saved; prints how many the store's compiler made and whether each equals ``re``'s own.
RUN = """
import json, os, re, sys
from re import _compiler
original = _compiler.compile
from qaexport.cli.common import use_font_store
from qaexport.render import compat, patterns
made = []
keeping = compat.compile_keeping_code
compat.compile_keeping_code = lambda text, flags: (made.append(text), keeping(text, flags))[1]
use_font_store()
texts = json.loads(sys.argv[1])
found = [re.compile(text, flags) for text, flags in texts]
same = [pattern == original(text, flags) and pattern.groupindex == original(text, flags).groupindex
        for pattern, (text, flags) in zip(found, texts)]
matches = [bool(pattern.match("Word-7")) for pattern in found]
patterns.save()
print(json.dumps({"made": len(made), "same": same, "matches": matches}))
"""


def _run(store: Path, texts: list[tuple[str, int]]) -> dict:
    result = subprocess.run([sys.executable, "-c", RUN, json.dumps(texts)], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "QAEXPORT_FONT_DIR": str(store)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def _texts(tag: str, count: int) -> list[tuple[str, int]]:
    return [(rf"(?P<w>{tag}{i}|word)-(\d+)", 0) for i in range(count)]


def test_a_later_run_compiles_none_of_the_patterns_kept_and_gets_the_same_patterns(tmp_path):
    texts = _texts("first", 10)
    first = _run(tmp_path, texts)
    assert first["made"] >= 10 and all(first["same"])
    assert (tmp_path / f"patterns-{sys.implementation.name}-{sys.version_info[0]}{sys.version_info[1]}.json").exists()
    again = _run(tmp_path, texts)
    assert again["made"] == 0, again  # every one from the store
    assert all(again["same"]) and again["matches"] == first["matches"]


def test_the_flags_are_part_of_what_a_pattern_is_kept_under(tmp_path):
    plain = _texts("flags", 10)
    _run(tmp_path, plain)
    ignoring = [(text, 2) for text, _ in plain]  # re.IGNORECASE: another pattern, not the kept one
    found = _run(tmp_path, ignoring)
    assert found["made"] >= 10 and all(found["same"])
    assert found["matches"] == [True] * 10  # "Word" matches only with the flag


def test_a_pattern_or_two_not_kept_do_not_write_the_store_again(tmp_path):
    _run(tmp_path, _texts("many", 10))
    store = next(tmp_path.glob("patterns-*.json"))
    before = store.stat().st_mtime_ns, store.read_bytes()
    few = _run(tmp_path, _texts("many", 10) + _texts("few", 2))
    assert few["made"] == 2
    assert (store.stat().st_mtime_ns, store.read_bytes()) == before
    assert _run(tmp_path, _texts("few", 2))["made"] == 2  # still compiled: not written
