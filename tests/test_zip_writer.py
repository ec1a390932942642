"""``output.write_zip`` writes its zips itself, to deflate a big one's entries on two threads: the bytes must be those
:mod:`zipfile` writes for the same entries (``output._with_zipfile``), which every reader of an EPUB or an Anki
package has read until now."""

from __future__ import annotations

import random
import threading
import zipfile

import pytest

from qaexport import output

STAMP_TIME = 1_700_000_000.0


def _entries(rng: random.Random, count: int, big: bool) -> list[tuple[str, bytes]]:
    names = ["mimetype", "EPUB/content.opf", "EPUB/fonts/noto-serif.ttf", "média/çà.png", "日本語/章.xhtml", "empty"]
    names += [f"EPUB/chapter-{i}.xhtml" for i in range(count)]
    entries = []
    for i, name in enumerate(names):
        size = 0 if name == "empty" else rng.randrange(1, 300_000 if big else 3_000)
        if i % 3:  # text that deflates well, and bytes that do not
            data = " ".join(rng.choice(["<p>", "def", "return", "ÿ", "x = 1", "\n"]) for _ in range(size // 4))
            entries.append((name, data.encode()[:size]))
        else:
            entries.append((name, rng.randbytes(size)))
    return entries


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("level", [None, 1, 9])
def test_the_zip_is_the_bytes_zipfile_writes(tmp_path, big, level):
    rng = random.Random(f"{big}{level}")
    for count in (0, 1, 7):
        entries = _entries(rng, count, big)
        stored = frozenset({"mimetype", entries[-1][0]})
        ours, theirs = tmp_path / "ours.zip", tmp_path / "theirs.zip"
        output.write_zip(ours, entries, STAMP_TIME, stored=stored, level=level)
        output._with_zipfile(theirs, entries, output.zip_date_time(STAMP_TIME), stored, level)
        assert ours.read_bytes() == theirs.read_bytes()
        with zipfile.ZipFile(ours) as zf:
            assert zf.testzip() is None
            assert [(i.filename, zf.read(i)) for i in zf.infolist()] == entries


def test_a_big_zip_is_deflated_on_two_threads(tmp_path, monkeypatch):
    """From ``PARALLEL_DEFLATE_BYTES`` on, the entries are deflated by this thread and one more; below, by this one."""
    threads: list[int] = []
    deflate = output._deflate
    monkeypatch.setattr(output, "_deflate", lambda data, level: threads.append(threading.get_ident())
                        or deflate(data, level))
    entries = _entries(random.Random(1), 7, big=True)
    assert sum(len(d) for _, d in entries) >= output.PARALLEL_DEFLATE_BYTES
    output.write_zip(tmp_path / "big.zip", entries, STAMP_TIME)
    assert len(set(threads)) == 2 and threading.get_ident() in threads
    threads.clear()
    output.write_zip(tmp_path / "small.zip", entries[:1], STAMP_TIME)
    assert set(threads) == {threading.get_ident()}


def test_zips_zipfile_must_write_are_written_by_zipfile(tmp_path):
    """Repeated names (zipfile warns and keeps both) and a name with a NUL (zipfile cuts it there) go through it."""
    with pytest.warns(UserWarning, match="Duplicate name"):
        output.write_zip(tmp_path / "twice.zip", [("a", b"1"), ("a", b"2")], STAMP_TIME)
    output.write_zip(tmp_path / "nul.zip", [("a\0b", b"1")], STAMP_TIME)
    with zipfile.ZipFile(tmp_path / "nul.zip") as zf:
        assert zf.namelist() == ["a"]
