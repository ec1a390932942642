"""The study site in headless Chromium, opened from file:// as a learner opens it from disk: revealing, the
keyboard, marks kept across a reload, search, the filters, progress files, axe-core, the Content-Security-Policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect
from typer.testing import CliRunner

from qaexport.cli import app
from tests.browser import axe_violations, launched, watch
from tests.site_bank import ANSWER_ONLY_WORD, write_bank

pytestmark = pytest.mark.slow
runner = CliRunner()
SAMPLE = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    bank = write_bank(tmp_path_factory.mktemp("bank"))
    target = tmp_path_factory.mktemp("out") / "site"
    result = runner.invoke(app, ["site", str(bank), "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture(scope="module")
def seed_site(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("seed") / "site"
    result = runner.invoke(app, ["site", str(SAMPLE), "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture(scope="module")
def cim_site(tmp_path_factory) -> Path:
    """A bank with cloze deletions, images and formulas (tests/test_cloze_images_math.py's)."""
    from tests.test_cloze_images_math import write_bank as write_cim_bank

    target = tmp_path_factory.mktemp("cim") / "site"
    result = runner.invoke(app, ["site", str(write_cim_bank(tmp_path_factory.mktemp("cimbank"))), "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture(scope="module")
def browser():
    with launched() as browser:
        yield browser


@pytest.fixture()
def page(browser):
    """A phone-sized page in a fresh profile; at the end, nothing was logged as an error or left the machine."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, accept_downloads=True)
    page = context.new_page()
    page.seen = watch(page)
    yield page
    problems = page.seen.problems()
    context.close()
    assert problems == []


FUNCTIONS = "python/basics/functions.html"


def url(site: Path, path: str) -> str:
    """The file:// URL of a page of the site, with its query (``search.html?q=x``) kept."""
    path, _, query = path.partition("?")
    return (site / path).as_uri() + (f"?{query}" if query else "")


def test_a_reveal_button_shows_and_hides_its_answer(site, page):
    page.goto(url(site, FUNCTIONS))
    item = page.locator("#q-closure")
    button = item.locator("button.reveal")
    answer = item.locator(".answer")
    assert button.get_attribute("aria-expanded") == "false"
    assert button.get_attribute("aria-controls") == "a-closure"
    assert not answer.is_visible()
    button.click()
    assert button.get_attribute("aria-expanded") == "true" and answer.is_visible()
    assert button.inner_text() == "Hide answer"
    assert item.locator(".state").inner_text() == "Seen"
    button.click()
    assert button.get_attribute("aria-expanded") == "false" and not answer.is_visible()


def test_the_keyboard_moves_reveals_and_marks(site, page):
    page.goto(url(site, FUNCTIONS))
    page.keyboard.press("j")
    first = page.locator("li.qa").nth(0)
    assert first.evaluate("li => li.classList.contains('current') && li.contains(document.activeElement)")
    page.keyboard.press("Space")  # the focused reveal button
    assert first.locator("button.reveal").get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    second = page.locator("li.qa").nth(1)
    assert second.evaluate("li => li.classList.contains('current') && li.contains(document.activeElement)")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Enter")  # nothing focused: the current question
    assert second.locator("button.reveal").get_attribute("aria-expanded") == "true"
    page.keyboard.press("n")
    assert second.locator("button.mark.missed").get_attribute("aria-pressed") == "true"
    page.keyboard.press("k")
    page.keyboard.press("y")
    assert first.locator("button.mark.knew").get_attribute("aria-pressed") == "true"
    page.keyboard.press("j")
    page.keyboard.press("ArrowUp")
    assert first.evaluate("li => li.classList.contains('current') && li.contains(document.activeElement)")
    page.keyboard.press("ArrowUp")  # already the first: stays
    assert first.evaluate("li => li.classList.contains('current')")
    focus = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus == "solid"  # focus is visible


def test_marks_survive_a_reload_and_the_review_lists_what_was_missed(site, page):
    page.goto(url(site, FUNCTIONS))
    page.locator("#q-closure button.reveal").click()
    page.locator("#q-closure button.mark.missed").click()
    page.locator("#q-def-keyword button.reveal").click()
    page.locator("#q-def-keyword button.mark.knew").click()
    page.reload()
    assert page.locator("#q-closure .state").inner_text() == "Didn't know"
    assert page.locator("#q-closure button.mark.missed").get_attribute("aria-pressed") == "true"
    assert page.locator("#q-def-keyword .state").inner_text() == "Knew it"
    assert page.locator("#q-self .state").count() == 0  # another page
    stored = json.loads(page.evaluate("localStorage.getItem('qaexport.progress.v1')"))
    assert stored["python/basics/functions/closure"]["mark"] == "missed"  # keyed by the stable key

    page.goto(url(site, "review.html"))
    links = page.locator("#review-list a")
    assert links.count() == 2
    assert links.nth(0).inner_text() == "Study these 1 again"
    assert links.nth(1).inner_text() == "What is a closure?"
    links.nth(1).click()
    page.wait_for_url("**/functions.html#q-closure")
    page.goto(url(site, "review.html"))
    page.locator("#review-list a.button").click()
    page.wait_for_url("**/functions.html?only=missed")
    visible = page.locator("li.qa:visible")
    assert visible.count() == 1 and visible.get_attribute("id") == "q-closure"

    page.goto(url(site, "index.html"))
    assert page.locator("#progress-summary").inner_text() == "Seen 2 questions: knew 1, didn't know 1."
    assert page.locator('li[data-prefix="python/basics/functions/"] .done').inner_text() == "seen 2 of 4, 1 missed"


def test_search_finds_a_word_only_an_answer_holds(site, page):
    page.goto(url(site, "index.html"))
    page.fill("#site-search", ANSWER_ONLY_WORD[:6])
    page.keyboard.press("Enter")  # the form goes to search.html?q=... (works from file://)
    page.wait_for_url("**/search.html?q=*")
    results = page.locator("#search-results li")
    assert results.count() == 1
    assert results.locator("a").inner_text() == "What does def do?"
    assert "found in the answer" in results.inner_text()
    results.locator("a").click()
    page.wait_for_url("**/python/basics/functions.html#q-def-keyword")
    page.go_back()
    page.fill("#site-search", "closure scope")  # every word must match: one in the question, one in the answer
    expect(page.locator("#search-status")).to_contain_text("closure scope")
    assert page.locator("#search-results a").all_inner_texts() == ["What is a closure?"]
    page.fill("#site-search", "nothing-here-at-all")
    expect(page.locator("#search-status")).to_have_text("No question or answer holds “nothing-here-at-all”.")


def test_the_same_folder_works_from_a_static_host(site, page):
    """Any static host: here the standard library's file server, on the loopback address, with no configuration."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        root = f"http://127.0.0.1:{server.server_address[1]}/"
        page.goto(root)  # the folder's index.html
        page.fill("#site-search", "closure")
        page.keyboard.press("Enter")
        page.wait_for_url("**/search.html?q=closure")
        page.locator("#search-results a").first.click()
        page.wait_for_url(root + "python/basics/functions.html#q-closure")
        page.locator("#q-closure button.reveal").click()
        expect(page.locator("#a-closure")).to_be_visible()
    finally:
        server.shutdown()
        server.server_close()


def test_the_difficulty_and_status_filters(site, page):
    page.goto(url(site, FUNCTIONS))
    page.get_by_label("hard (2)").uncheck()
    assert page.locator("li.qa:visible").count() == 2
    assert page.locator("#shown").inner_text() == "Showing 2 of 4 questions"
    page.reload()  # the filter is remembered
    assert page.locator("li.qa:visible").count() == 2
    page.get_by_label("hard (2)").check()
    page.locator("#q-closure button.reveal").click()
    page.select_option("#status-filter", "unseen")
    assert page.locator("li.qa:visible").count() == 3
    page.goto(url(site, "python/basics/classes.html"))  # no hard question here: no "hard" to choose
    assert page.locator('input[name="difficulty"]').evaluate_all("boxes => boxes.map(b => b.value)") == [
        "easy", "medium", "unrated"]


def test_progress_saves_to_a_file_and_loads_back(site, page, tmp_path):
    page.goto(url(site, FUNCTIONS))
    page.locator("#q-closure button.reveal").click()
    page.locator("#q-closure button.mark.missed").click()
    page.goto(url(site, "index.html"))
    with page.expect_download() as download:
        page.click("#progress-export")
    saved = tmp_path / "progress.json"
    download.value.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["format"] == "qaexport-progress" and data["progress"]["python/basics/functions/closure"]["mark"] == \
        "missed"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#progress-reset")
    assert page.locator("#progress-summary").inner_text() == "Nothing marked yet."
    with page.expect_file_chooser() as chooser:
        page.click("#progress-load")
    chooser.value.set_files(str(saved))
    expect(page.locator("#progress-message")).to_contain_text("Loaded the progress of 1 question")
    assert page.locator("#progress-summary").inner_text() == "Seen 1 question: knew 0, didn't know 1."
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "other"}')
    with page.expect_file_chooser() as chooser:
        page.click("#progress-load")
    chooser.value.set_files(str(bad))
    expect(page.locator("#progress-message")).to_have_text("That file is not a qaexport progress file.")


def test_night_colours_follow_the_system_and_the_switch(site, browser):
    context = browser.new_context(color_scheme="dark", viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(url(site, FUNCTIONS))
    background = "getComputedStyle(document.body).backgroundColor"
    code = "getComputedStyle(document.querySelector('pre.hl')).backgroundColor"
    assert page.evaluate(background) == "rgb(13, 17, 23)"
    assert page.evaluate(code) == "rgb(13, 17, 23)"  # github-dark, the night theme
    page.select_option("#theme-choice", "light")
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    assert page.evaluate(code) == "rgb(248, 248, 248)"  # the day theme (default)
    page.reload()
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    context.close()


def test_paper_gets_every_answer_and_no_controls(site, page):
    page.goto(url(site, FUNCTIONS))
    page.emulate_media(media="print")
    assert page.locator(".answer").evaluate_all("all => all.every(a => getComputedStyle(a).display === 'block')")
    for hidden in (".toolbar", "button.reveal", ".marks", "header.top"):
        assert page.locator(hidden).first.evaluate("el => getComputedStyle(el).display") == "none", hidden
    assert page.locator("pre.hl").first.evaluate("el => getComputedStyle(el).whiteSpace") == "pre-wrap"


@pytest.mark.parametrize("width", [360, 1280])
def test_nothing_is_wider_than_the_screen(site, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    for path in ("index.html", FUNCTIONS, "search.html?q=def", "review.html"):
        page.goto(url(site, path))
        page.click("#reveal-all") if path == FUNCTIONS else None
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_on_any_page_type(site, seed_site, cim_site, browser, scheme):
    # axe is injected as a script, which the pages' own policy forbids: this context bypasses it for axe alone
    context = browser.new_context(color_scheme=scheme, bypass_csp=True, viewport={"width": 360, "height": 740})
    page = context.new_page()
    seen = watch(page)
    page.goto(url(site, FUNCTIONS))
    page.locator("#q-closure button.reveal").click()
    page.locator("#q-closure button.mark.missed").click()
    found = {}
    for root, path, action in [(site, "index.html", None), (site, FUNCTIONS, "#reveal-all"),
                               (site, "python/basics/classes.html", None), (site, "search.html?q=the", None),
                               (site, "review.html", None), (seed_site, "index.html", None),
                               (seed_site, "fastapi/deployment/uvicorn-gunicorn.html", "#reveal-all"),
                               (cim_site, "science/physics/basics.html", "#reveal-all")]:
        page.goto(url(root, path))
        if action:
            page.click(action)
        found[path] = axe_violations(page)
    context.close()
    assert found == {path: [] for path in found}
    assert seen.problems() == []


def test_hostile_content_does_nothing_in_the_page(site, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url(site, FUNCTIONS))
    page.click("#reveal-all")
    hostile = page.locator("#q-hostile")
    expect(hostile.locator("h2")).to_contain_text("<script>alert('q')</script>")  # shown as the text it is
    expect(hostile.locator(".answer")).to_contain_text("<img src=x onerror=")
    assert hostile.locator("script, img, iframe, object, svg, style").count() == 0
    hrefs = hostile.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs and all(h.startswith(("https://", "mailto:")) for h in hrefs), hrefs
    assert dialogs == []


def test_the_policy_blocks_a_script_that_gets_into_the_page(site, browser):
    def inject(context) -> object:
        page = context.new_page()
        page.goto(url(site, FUNCTIONS))
        page.evaluate("""() => {
            window.violations = [];
            document.addEventListener('securitypolicyviolation', e => window.violations.push(e.violatedDirective));
            const s = document.createElement('script');
            s.textContent = 'window.injected = 1';
            document.body.appendChild(s);
        }""")
        # the script ran (at once) or the policy's violation event came (a task the page runs later; a 0 ms wait
        # before assumed it had run by then): wait for the one or the other, then read both
        page.wait_for_function("window.injected === 1 || window.violations.length > 0")
        return page.evaluate("[window.injected === 1, window.violations]")

    guarded = browser.new_context()
    ran, violations = inject(guarded)
    guarded.close()
    assert not ran and violations == ["script-src-elem"]
    # the control: without the policy the same script runs, so the first result is the policy's doing
    open_context = browser.new_context(bypass_csp=True)
    ran, violations = inject(open_context)
    open_context.close()
    assert ran and violations == []


def test_a_question_moved_with_from_keeps_its_marks(tmp_path, page):
    """A question moved to another subtopic with `from=` keeps its Anki note; on the site its marks follow it too
    (the page names the key it was first exported under, and the marks kept under it are taken over). Before, the
    moved question showed no mark and the old one was left under a key no page had (trial10)."""
    bank = write_bank(tmp_path / "bank")
    target = tmp_path / "site"
    assert runner.invoke(app, ["site", str(bank), "-o", str(target)]).exit_code == 0
    page.goto(url(target, "python/basics/classes.html"))
    page.locator("#q-self button.reveal").click()
    page.locator("#q-self button.mark.knew").click()

    classes, functions = bank / "python" / "02-classes.md", bank / "python" / "01-functions.md"
    section = "## What is `self`? {#self .easy}\n\nThe instance a method was called on.\n\n"
    classes.write_text(classes.read_text(encoding="utf-8").replace(section, ""), encoding="utf-8")
    functions.write_text(functions.read_text(encoding="utf-8") + "\n" + section.replace(
        "{#self .easy}", "{#self .easy from=python/basics/classes/self}"), encoding="utf-8")
    result = runner.invoke(app, ["site", str(bank), "-o", str(target)])
    assert result.exit_code == 0, result.output

    page.goto(url(target, FUNCTIONS))
    assert page.locator("#q-self .state").inner_text() == "Knew it"
    stored = json.loads(page.evaluate("localStorage.getItem('qaexport.progress.v1')"))
    assert stored["python/basics/functions/self"]["mark"] == "knew" and "python/basics/classes/self" not in stored
    page.reload()
    assert page.locator("#q-self .state").inner_text() == "Knew it"
