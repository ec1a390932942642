"""qaexport: interview-question banks → Anki deck, PDF booklet, EPUB."""

__version__ = "0.1.0"
