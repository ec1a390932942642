"""The sample's cards made in this process on one core, with what measuring did counted (the search's tests)."""

from __future__ import annotations

from typer.testing import CliRunner

from qaexport.cli import app


def sample_cards(monkeypatch, tmp_path, sample_path, name: str) -> tuple[list, int]:
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
