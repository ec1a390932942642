"""One quick case per class of the generated hostile corpus (tests/bounds_corpus.py; the whole corpus, with
the cases that lay out big documents, is that script's): each ends with exit 0 and a warning or one ``error:``
line and exit 1/2, no traceback, within 1 GiB of peak memory of the whole process tree, and nothing left in the
output folder or $TMPDIR. How fast they end is for the corpus script and the benchmark to say: here the wait is
only bounded, so that a hang fails the test instead of the suite."""

from __future__ import annotations

import pytest

from tests.bounds_corpus import BY_NAME, run_case

HANG = 300.0  # seconds: a case still running then is hanging (each of these takes about a second)
#: One case of each class the corpus holds that ends in a second or so (each limit's own tests are beside its code).
REPRESENTATIVE = ["yaml-alias-bomb-order", "heading-1mb-spaces", "nuxt-shared-references-anki", "apkg-type-in-150k",
                  "apkg-cloze-5000", "apkg-bank-json-bomb", "apkg-originals-json-bomb",
                  "previous-zip-bomb", "output-symlink-dev-zero", "fifo-in-folder", "fifo-output",
                  "markup-in-names-validate", "deep-toml-arrays", "apkg-deep-media-map", "ledger-non-numeric-mod",
                  "lone-surrogates-anki", "broken-symlink-in-folder", "convert-into-symlinked-folder",
                  "control-characters-epub"]


@pytest.mark.parametrize("case", [pytest.param(BY_NAME[name], id=name) for name in REPRESENTATIVE])
def test_hostile_case_is_bounded_and_told_in_one_line(case, tmp_path):
    outcome = run_case(case, tmp_path / case.name, seconds=HANG)
    assert outcome.problems(case) == [], (f"{case.name}: exit {outcome.code}, {outcome.seconds:.1f} s, "
                                          f"{outcome.peak_mib:.0f} MiB\n{outcome.stderr[-3000:]}")
