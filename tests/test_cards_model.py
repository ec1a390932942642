"""The cards' text model (``exporters/cards/metrics``) chooses where measuring starts; WeasyPrint decides.

Every face goes on a card only after a real layout measured it to fit, whatever the model says: here the model is
made to lie both ways and every face of the result is laid out again, alone, and must fit its card; the model
never costs a card (as many cards as without it, or fewer), and it stays calibrated against WeasyPrint.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from qaexport.cli import app

pytestmark = pytest.mark.slow  # lays out every card face of the sample several times


def _fitted(monkeypatch, tmp_path, sample_path, name: str) -> list[tuple]:
    """Cards of the sample (one core, in this process): each fit_faces call's jobs, CSS, limit, fonts and parts."""
    from qaexport.exporters import cards
    from qaexport.exporters.cards import layout

    seen: list[tuple] = []
    real = layout.fit_faces

    def spy(jobs, css, limit_px, on_round=lambda n: None, media=None, files=None, workers=1, keep=None):
        fitted = real(jobs, css, limit_px, on_round, media, files, workers, keep)
        seen.append((jobs, css, limit_px, media, files, fitted.parts))
        return fitted

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(layout, "can_fork", lambda: False)
    monkeypatch.setattr(cards, "cores", lambda: 1)
    monkeypatch.setattr(layout, "fit_faces", spy)
    # --no-cache: every build is built (nothing changed but the code patched here, which no build manifest sees)
    result = CliRunner().invoke(app, ["cards", str(sample_path), "-o", str(tmp_path / f"{name}.cards.pdf"),
                                      "--no-cache"])
    assert result.exit_code == 0, result.output
    (call,) = seen
    return call


def _overflowing(call) -> list[tuple[int, int, float]]:
    """Every part laid out again alone, as it goes on its card: (job, part, how far past the card) of those that do
    not fit."""
    from qaexport.exporters.cards import layout

    jobs, css, limit_px, media, files, parts = call
    faces, where = [], []
    for j, (job, cards) in enumerate(zip(jobs, parts, strict=True)):
        for k, part in enumerate(cards):
            faces.append(job.render(part.html, part.size, f"m-{len(faces)}", len(cards) > 1))
            where.append((j, k))
    measured = layout._measure(layout.Batch(faces, [False] * len(faces)), css, limit_px, media, files)
    return [(j, k, end - limit_px) for (j, k), (_top, end) in zip(where, measured.spans, strict=True)
            if not layout.Measure(_top, end, limit_px).fits]


def test_every_face_is_measured_whatever_the_model_says(monkeypatch, tmp_path, sample_path):
    """The model as it is, one that says everything fits at the normal size, and one that says nothing fits even at
    the smallest: every face of each result fits its card when laid out again, and none takes more cards than
    without a model. The lying models change what is measured, not the guarantees."""
    from qaexport.exporters.cards import metrics

    with monkeypatch.context() as patch:
        patch.setattr(metrics.TextModel, "height", lambda *_args: None)
        patch.setattr(metrics.TextModel, "weights", lambda *_args: None)
        without = _fitted(patch, tmp_path, sample_path, "without")
    modelled = _fitted(monkeypatch, tmp_path, sample_path, "model")
    counts = [len(cards) for cards in without[-1]]
    assert any(len(cards) > 1 for cards in modelled[-1])  # the sample has answers cut over several cards
    for name, height in (("tiny", lambda *_args: 1.0), ("huge", lambda *_args: 10_000.0)):
        with monkeypatch.context() as patch:
            patch.setattr(metrics.TextModel, "height", lambda self, html, size, h=height: h())
            lied = _fitted(patch, tmp_path, sample_path, name)
        assert _overflowing(lied) == [], name
        assert all(len(a) <= b for a, b in zip(lied[-1], counts, strict=True)), name
    assert _overflowing(modelled) == []
    assert all(len(a) <= b for a, b in zip(modelled[-1], counts, strict=True))


def test_the_model_is_calibrated_against_weasyprint(monkeypatch, tmp_path, sample_path):
    """On the sample's answers the model has a height for most, each within ``TOLERANCE`` of WeasyPrint's at 9 and
    at 7 pt (a model far off costs layouts: the first size measured would be wrong)."""
    from qaexport.exporters.cards import layout
    from qaexport.exporters.cards.metrics import TOLERANCE

    jobs, css, limit_px, media, files, _parts = _fitted(monkeypatch, tmp_path, sample_path, "calibrate")
    answers = [job for job in jobs if job.estimate is not None]
    faces, wanted = [], []
    for size in (9.0, 7.0):
        for job in answers:
            estimate = job.estimate.height(job.html, size)
            if estimate is not None:
                faces.append(job.render(job.html, size, f"m-{len(faces)}", False))
                wanted.append(estimate)
    assert len(answers) == len(jobs) // 2 and len(wanted) >= 0.8 * 2 * len(answers)
    measured = layout._measure(layout.Batch(faces, [False] * len(faces)), css, limit_px, media, files)
    errors = [abs(estimate - (end - top)) / (end - top)
              for estimate, (top, end) in zip(wanted, measured.spans, strict=True)]
    assert max(errors) <= TOLERANCE, sorted(errors)[-5:]
