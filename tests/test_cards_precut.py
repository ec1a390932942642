"""A card's first atom cut before it is measured alone when the model ends the card inside it (``PRE_CUT_FIRST``).

The search for where a card ends cut a list, table or code block where the model ends the card, but not the card's
first atom: that one was measured alone first, only to see it not fit (as long as a card or longer), then cut. Here
the sample's cards are made with the first atom cut too and without: the same cards, cut at the same places, and
fewer runs measured.
"""

from __future__ import annotations

import pytest

from tests.cards_runs import sample_cards

pytestmark = pytest.mark.slow  # lays out every card face of the sample, twice


def test_the_first_atom_cut_where_the_model_ends_the_card_saves_its_measure_and_changes_no_card(
        monkeypatch, tmp_path, sample_path):
    from qaexport.exporters.cards import layout

    assert layout.PRE_CUT_FIRST
    cut_first, with_it = sample_cards(monkeypatch, tmp_path, sample_path, "cut-first")
    monkeypatch.setattr(layout, "PRE_CUT_FIRST", False)
    measured_first, without = sample_cards(monkeypatch, tmp_path, sample_path, "measured-first")
    assert cut_first == measured_first  # the same cards, cut at the same places
    assert with_it < without, (with_it, without)
