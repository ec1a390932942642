"""Every case of the generated hostile corpus (tests/bounds_corpus.py) ends within 60 s and 1 GiB of peak memory of
the whole process tree, with exit 0 and a warning or one ``error:`` line and exit 1/2, no traceback, and nothing
left in the output folder or $TMPDIR. Cases that lay out big documents are ``slow``."""

from __future__ import annotations

import pytest

from tests.bounds_corpus import CASES, run_case


def _marks(case) -> list:
    return [pytest.mark.slow] if case.slow else []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=_marks(c)) for c in CASES])
def test_hostile_case_is_bounded_and_told_in_one_line(case, tmp_path):
    outcome = run_case(case, tmp_path / case.name)
    assert outcome.problems(case) == [], (f"{case.name}: exit {outcome.code}, {outcome.seconds:.1f} s, "
                                          f"{outcome.peak_mib:.0f} MiB\n{outcome.stderr[-3000:]}")
