from pathlib import Path

import pytest

from qaexport import sources
from qaexport.errors import ValidationError
from qaexport.model import Difficulty
from tests.payloads import html_page, page, question, subtopic, write

SAMPLE_ORDER = [
    ("uvicorn-gunicorn", "Uvicorn & Gunicorn", 11),
    ("middleware", "Middleware", 12),
    ("background-tasks", "Background Tasks", 11),
]


def test_sample_counts_and_order(sample_library):
    lib = sample_library
    assert [fw.slug for fw in lib.frameworks] == ["fastapi"]
    fw = lib.frameworks[0]
    assert fw.name == "FastAPI" and fw.order == 6
    assert [(t.slug, t.name) for t in fw.topics] == [("deployment", "Deployment & Middleware")]
    subs = fw.topics[0].subtopics
    assert [(s.slug, s.name, len(s.questions)) for s in subs] == SAMPLE_ORDER
    assert lib.count() == 34
    assert lib.counts_by_difficulty() == {Difficulty.EASY: 9, Difficulty.MEDIUM: 16, Difficulty.HARD: 9}
    first = subs[0].questions[0]
    assert first.id == "uvicorn-basics" and first.difficulty is Difficulty.EASY
    assert first.key == "fastapi/deployment/uvicorn-gunicorn/uvicorn-basics"
    assert first.question.startswith("What is Uvicorn")
    assert "```bash" in first.answer
    assert subs[0].description.startswith("FastAPI Uvicorn and Gunicorn")
    assert len({r.question.key for r in lib.questions()}) == 34


def test_saved_html_page_reads_like_the_payload(tmp_path, sample_path):
    import json

    payload = json.loads(sample_path.read_text())
    path = write(tmp_path / "saved.html", html_page(payload))
    lib = sources.load([path])
    assert lib.count() == 34
    assert [s.slug for _, _, s in lib.subtopics()] == [s for s, _, _ in SAMPLE_ORDER]


def test_page_data_found_by_shape_not_by_key(tmp_path):
    path = write(tmp_path / "p.json", page([subtopic("a", "A", [question("q1")])], key="some-other-page-key"))
    assert sources.load([path]).count() == 1


def test_merging_two_sources(tmp_path):
    one = write(tmp_path / "one.json", page([
        subtopic("workers", "Workers", [question("w1"), question("w2", "hard")], order=2),
    ]))
    two = write(tmp_path / "two.json", page([
        subtopic("cors", "CORS", [question("c1", "medium")], order=1),
    ]))
    other_topic = write(tmp_path / "three.json", page(
        [subtopic("di", "Depends", [question("w1")], topic="dependencies")],
        topic="dependencies", topic_name="Dependencies", topic_order=3))
    lib = sources.load([one, two, other_topic])
    assert [fw.slug for fw in lib.frameworks] == ["fastapi"]
    topics = lib.frameworks[0].topics
    assert [t.slug for t in topics] == ["dependencies", "deployment"]  # by order field: 3 before 8
    assert [s.slug for s in topics[1].subtopics] == ["cors", "workers"]  # order 1 before 2
    keys = [r.question.key for r in lib.questions()]
    assert keys == [
        "fastapi/dependencies/di/w1", "fastapi/deployment/cors/c1",
        "fastapi/deployment/workers/w1", "fastapi/deployment/workers/w2",
    ]


def test_same_question_in_two_files_is_reported(tmp_path):
    a = write(tmp_path / "a.json", page([subtopic("s", "S", [question("q1")])]))
    b = write(tmp_path / "b.json", page([subtopic("s", "S", [question("q1")])]))
    with pytest.raises(ValidationError) as info:
        sources.load([a, b])
    assert "b.json" in str(info.value) and "a.json" in str(info.value)


def test_every_problem_is_collected_with_file_and_id(tmp_path):
    bad = write(tmp_path / "bad.json", page([subtopic("s", "S", [
        question("ok"),
        {"id": "weird", "difficulty": "expert", "q": "Q?", "a": "A"},
        {"id": "noanswer", "difficulty": "easy", "q": "Q?", "a": "  "},
        {"id": "noquestion", "difficulty": "easy", "a": "A"},
        question("ok"),
        {"difficulty": "easy", "q": "Q", "a": "A"},
        {"id": "num", "difficulty": "easy", "q": 5, "a": "A"},
        "not an object",
    ])]))
    lib, problems, _warnings = sources.read_all(sources.expand([bad]))
    text = [str(p) for p in problems]
    assert all(t.startswith(str(bad)) for t in text)
    assert any("'weird'" in t and "unknown ('expert')" in t and "easy, medium or hard" in t for t in text)
    assert any("'noanswer'" in t and "answer (a) is empty" in t for t in text)
    assert any("'noquestion'" in t and "question (q) is missing" in t for t in text)
    assert any("'ok'" in t and "duplicate id" in t for t in text)
    assert any("question #6" in t and "missing `id`" in t for t in text)
    assert any("'num'" in t and "must be text" in t for t in text)
    assert any("question #8" in t and "expected an object" in t for t in text)
    assert len(problems) == 7
    assert lib.count() == 1


def test_expand_folder_and_missing_path(tmp_path):
    write(tmp_path / "b.json", page([subtopic("s", "S", [question("q")])]))
    (tmp_path / "notes.rst").write_text("ignored")
    assert [p.name for p, _ in sources.expand([tmp_path])] == ["b.json"]
    with pytest.raises(Exception, match="no such file"):
        sources.expand([Path(tmp_path / "missing.json")])


def test_filters(sample_library):
    hard = sample_library.filtered({Difficulty.HARD})
    assert hard.count() == 9
    mw = sample_library.filtered(topics={"middleware"})
    assert mw.count() == 12
    assert sample_library.filtered(topics={"fastapi/deployment"}).count() == 34
