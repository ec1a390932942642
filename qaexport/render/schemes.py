"""Render schemes: the forms rendered text takes. An exporter declares one; the registry checks it."""

from __future__ import annotations

import enum

# The default theme set (it decides the compact class scheme); here so the CLI can show them without Pygments.
DEFAULT_THEME = "default"  # dark, bold/italic-distinguished colours: readable on paper and in grayscale
DEFAULT_NIGHT_THEME = "github-dark"


class Scheme(enum.StrEnum):
    """How an exporter wants its text (see ``highlight`` for the two HTML class schemes)."""

    COMPACT = "compact"  # HTML for layout engines: few, merged highlight classes (books, cards)
    PORTABLE = "portable"  # HTML stored where the theme may change later: one class per token type (Anki)
    PLAIN = "plain"  # plain text, no markup (text-file exporters)
    NONE = "none"  # no rendering: the exporter writes the source texts themselves (the Markdown bank writer)

    @property
    def is_html(self) -> bool:
        return self in (Scheme.COMPACT, Scheme.PORTABLE)
