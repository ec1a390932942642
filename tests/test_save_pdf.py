"""PDFs that pikepdf writes (the merge of the parts, the cards' sheets) leave no file but their target: a run
killed while one was being saved left pikepdf's own temporary file beside the output, which the next run's sweep
did not know as ours (found by the SIGKILL test in a fresh clone)."""

from __future__ import annotations

import os
import pathlib

import pikepdf

from qaexport.output import atomic_path
from qaexport.weasy import parts

PACKAGE = pathlib.Path(parts.__file__).resolve().parent.parent


def test_saving_writes_nothing_beside_the_owned_temporary_file(tmp_path):
    pdf = pikepdf.new()
    for _ in range(40):
        pdf.add_blank_page()
    seen: list[list[str]] = []
    target = tmp_path / "book.pdf"
    with atomic_path(target) as tmp:  # the owned temporary path exists already, as when the exporters save
        assert tmp.exists()
        parts.save_pdf(pdf, tmp, progress=lambda _percent: seen.append(sorted(os.listdir(tmp_path))))
        assert seen, "pikepdf reported no progress: the test saw nothing"
        assert all(listing == [tmp.name] for listing in seen), seen
    assert os.listdir(tmp_path) == ["book.pdf"]
    with pikepdf.open(target) as back:
        assert len(back.pages) == 40


def test_only_save_pdf_saves_a_pikepdf_document():
    savers = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
              if "deterministic_id" in path.read_text(encoding="utf-8")]
    assert savers == ["weasy/parts.py"]
    assert parts.__loader__.get_source(parts.__name__).count("deterministic_id") == 1  # in save_pdf alone


def test_a_full_disk_while_saving_is_an_oserror_not_the_end_of_the_process():
    """pikepdf writes a plain file's descriptor from C++, and a write that fails there (ENOSPC) called
    std::terminate: `qaexport cards` on a full disk died with exit 134 and left its temporary file (trial10).
    /dev/full fails every write with ENOSPC; the save runs in a child, since without the fix it aborts."""
    import subprocess
    import sys

    code = ("import errno, pathlib, pikepdf\n"
            "from qaexport.weasy import parts\n"
            "pdf = pikepdf.new()\n"
            "for _ in range(40): pdf.add_blank_page()\n"
            "try:\n"
            "    parts.save_pdf(pdf, pathlib.Path('/dev/full'))\n"
            "except OSError as exc:\n"
            "    print('OSError', errno.errorcode[exc.errno])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "OSError ENOSPC"), (done.returncode, done.stderr[-500:])
