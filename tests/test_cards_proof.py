"""A card proven full without measuring the run one atom longer (``layout._cannot_grow``).

The search for where a card ends measured, after the longest run that fits, the run one atom longer only to see it
not fit. When that atom starts a line of its own and the room left is less than that line, the run cannot fit and
is not measured. Here the sample's cards are made with every proof measured too (``layout.VERIFY``): each proved
run is past the card in WeasyPrint's own layout, the cards are the same as when everything is measured, and fewer
runs are measured than without the proof.
"""

from __future__ import annotations

import pytest

from tests.cards_runs import sample_cards as _cards

pytestmark = pytest.mark.slow  # lays out every card face of the sample, three times


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
