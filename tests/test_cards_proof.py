"""A card proven full without measuring the run one atom longer (``layout._cannot_grow``).

The search for where a card ends measured, after the longest run that fits, the run one atom longer only to see it
not fit. When that atom starts a line of its own and the room left is less than that line, the run cannot fit and
is not measured. Here the sample's cards are made with every proof measured too (``layout.VERIFY``): each proved
run is past the card in WeasyPrint's own layout, the cards are the same as when everything is measured, and fewer
runs are measured than without the proof.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from qaexport.cli import app

pytestmark = pytest.mark.slow  # lays out every card face of the sample, three times


def _cards(monkeypatch, tmp_path, sample_path, name: str) -> tuple[list, int]:
    """The sample's cards (one core, in this process): each face's parts, and how many faces were measured."""
    from qaexport.exporters import cards
    from qaexport.exporters.cards import layout

    parts: list = []
    measured = [0]
    real_fit, real_measure = layout.fit_faces, layout._measure

    def fit(*args, **kwargs):
        fitted = real_fit(*args, **kwargs)
        parts.append([[(p.html, p.size, p.cut) for p in face] for face in fitted.parts])
        return fitted

    def measure(batch, *args):
        measured[0] += len(batch.faces)
        return real_measure(batch, *args)

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(layout, "can_fork", lambda: False)
    monkeypatch.setattr(cards, "cores", lambda: 1)
    monkeypatch.setattr(layout, "fit_faces", fit)
    monkeypatch.setattr(layout, "_measure", measure)
    result = CliRunner().invoke(app, ["cards", str(sample_path), "-o", str(tmp_path / f"{name}.cards.pdf"),
                                      "--no-cache"])
    assert result.exit_code == 0, result.output
    (found,) = parts
    return found, measured[0]


def test_a_card_proven_full_is_past_the_card_in_weasyprint_and_saves_its_measure(monkeypatch, tmp_path, sample_path):
    from qaexport.exporters.cards import layout

    checked: list[tuple[float, float, float]] = []
    monkeypatch.setattr(layout, "VERIFY", checked)
    verified, _ = _cards(monkeypatch, tmp_path, sample_path, "verified")
    assert len(checked) >= 5, checked  # code lines and paragraphs proven too long on the sample's cut answers
    wrong = [(proved, end, limit) for proved, end, limit in checked if layout.Measure(0, end, limit).fits]
    assert not wrong, wrong  # every run proven too long is too long when WeasyPrint lays it out
    assert all(end >= proved for proved, end, _ in checked)  # and ends at least where the proof said

    monkeypatch.setattr(layout, "VERIFY", None)
    proven, with_proof = _cards(monkeypatch, tmp_path, sample_path, "proven")
    monkeypatch.setattr(layout, "_cannot_grow", lambda *_args: None)
    measured, without = _cards(monkeypatch, tmp_path, sample_path, "measured")
    assert proven == measured == verified  # the same cards, cut at the same places
    assert with_proof <= without - len(checked), (with_proof, without, len(checked))
