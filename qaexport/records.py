"""PLACEHOLDER mirroring CONTRACT.md until the lead's ARCH commit lands (main's version wins on merge)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .errors import Problem


class ContentFormat(enum.StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None
    record: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.record}" if self.record else where


@dataclass
class Node:
    name: str
    slug: str = ""
    description: str = ""
    order: float | None = None


@dataclass
class QuestionRecord:
    id: str | None
    difficulty: object
    question: object
    answer: object
    location: Location
    format: ContentFormat = ContentFormat.MARKDOWN


@dataclass
class SubtopicRecord:
    framework: Node
    topic: Node
    subtopic: Node
    questions: list[QuestionRecord]
    location: Location
    difficulty_optional: bool = False


@dataclass(frozen=True)
class Media:
    name: str
    data: bytes
    mime: str


@dataclass
class ReadResult:
    subtopics: list[SubtopicRecord]
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
