"""What the book exporters (PDF, EPUB, flashcards) share on top of the rendered HTML; they import it from here, never
from each other."""
