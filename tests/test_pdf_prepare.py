"""The PDF's ``prepare`` (run while the texts render, in the process its parts and, in `all`, the other exporters'
children are forked from) leaves the book's template compiled there: a child forked after it compiles nothing.

Each part, the probe and the front document made their HTML from a template each of them compiled again (Jinja's
import and the compile, ~55 ms each, on each one's own path); `all`'s other exporters each imported Jinja again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qaexport import forked

#: Run in a fresh interpreter: the template cache (``templates.environment``) of this test process may hold the
#: template already.
CHILD_COMPILES = """
import sys
from qaexport import forked
from qaexport.exporters.pdf import PdfExporter

PdfExporter.prepare()


def work(_report):
    from qaexport.templates import environment

    env = environment("pdf")
    compiled = []
    compile_ = env.compile
    env.compile = lambda *args, **kwargs: compiled.append(args[1:2]) or compile_(*args, **kwargs)
    env.get_template("book.html")
    return compiled, "jinja2" in sys.modules


print(forked.run_forked(work, lambda _value: None, str))
"""


@pytest.mark.skipif(not forked.can_fork(), reason="the template reaches the children by the fork")
def test_a_child_forked_after_the_pdfs_prepare_compiles_no_template():
    result = subprocess.run([sys.executable, "-c", CHILD_COMPILES], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "([], True)", result.stdout
