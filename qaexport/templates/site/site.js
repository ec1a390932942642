/* qaexport study site: reveal answers, keyboard, marks, filters, progress, search, review.

   Progress lives in localStorage under one item, keyed by each question's stable key
   (framework/topic/subtopic/id), so it survives re-exports of the bank and is shared by every page
   of every qaexport site opened from the same place. Everything the bank wrote reaches the page as
   text (textContent), never as markup. */
(function () {
  "use strict";

  var PROGRESS = "qaexport.progress.v1";
  var THEME = "qaexport.theme";
  var FILTER = "qaexport.filter.v1";
  var KEY_RULE = /^[a-z0-9-]+\/[a-z0-9-]+\/[a-z0-9-]+\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
  var MARKS = { knew: "Knew it", missed: "Didn't know" };

  function store() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  function readJson(name, fallback) {
    var s = store();
    if (!s) return fallback;
    try {
      var value = JSON.parse(s.getItem(name) || "null");
      return value && typeof value === "object" && !Array.isArray(value) ? value : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function writeJson(name, value) {
    var s = store();
    if (!s) return;
    try {
      s.setItem(name, JSON.stringify(value));
    } catch (e) {
      /* full or refused: the page still works, it only forgets */
    }
  }

  // --- progress ------------------------------------------------------------------------------------

  var progress = clean(readJson(PROGRESS, {}));

  /* Only well-formed entries under well-formed keys: the store and imported files are untrusted. */
  function clean(raw) {
    var out = Object.create(null);
    Object.keys(raw).forEach(function (key) {
      var e = raw[key];
      if (!KEY_RULE.test(key) || !e || typeof e !== "object") return;
      out[key] = {
        seen: e.seen === true,
        mark: e.mark === "knew" || e.mark === "missed" ? e.mark : "",
        at: typeof e.at === "string" ? e.at.slice(0, 40) : ""
      };
    });
    return out;
  }

  function entry(key) {
    return progress[key] || { seen: false, mark: "", at: "" };
  }

  function update(key, change) {
    var e = entry(key);
    progress[key] = {
      seen: "seen" in change ? change.seen : e.seen,
      mark: "mark" in change ? change.mark : e.mark,
      at: new Date().toISOString()
    };
    writeJson(PROGRESS, progress);
  }

  function tally(prefix) {
    var t = { seen: 0, knew: 0, missed: 0 };
    Object.keys(progress).forEach(function (key) {
      if (prefix && key.indexOf(prefix) !== 0) return;
      var e = progress[key];
      if (e.seen || e.mark) t.seen += 1;
      if (e.mark) t[e.mark] += 1;
    });
    return t;
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  // --- colours -------------------------------------------------------------------------------------

  function setupTheme() {
    var choice = document.getElementById("theme-choice");
    if (!choice) return;
    var s = store();
    var saved = s ? s.getItem(THEME) : null;
    choice.value = saved === "light" || saved === "night" ? saved : "system";
    choice.addEventListener("change", function () {
      var root = document.documentElement;
      if (choice.value === "system") {
        root.removeAttribute("data-theme");
        if (s) s.removeItem(THEME);
      } else {
        root.setAttribute("data-theme", choice.value);
        if (s) s.setItem(THEME, choice.value);
      }
    });
  }

  // --- a subtopic page -----------------------------------------------------------------------------

  /* A question moved with from= (data-from: the key it was first exported under) takes the marks kept under that
     key, the newer of the two when both exist, and the old entry goes: a move keeps the learner's progress as it
     keeps the Anki note. */
  function adoptMoved(items) {
    var moved = false;
    items.forEach(function (li) {
      var from = li.getAttribute("data-from");
      var key = li.getAttribute("data-key");
      if (!from || from === key || !progress[from]) return;
      if (!progress[key] || progress[from].at > progress[key].at) progress[key] = progress[from];
      delete progress[from];
      moved = true;
    });
    if (moved) writeJson(PROGRESS, progress);
  }

  function setupQuestions() {
    var items = Array.prototype.slice.call(document.querySelectorAll("li.qa"));
    if (!items.length) return;
    adoptMoved(items);
    var current = -1;
    var shown = document.getElementById("shown");

    function paint(li) {
      var e = entry(li.getAttribute("data-key"));
      li.setAttribute("data-mark", e.mark);
      li.setAttribute("data-seen", e.seen ? "yes" : "no");
      var state = li.querySelector(".state");
      state.textContent = e.mark ? MARKS[e.mark] : e.seen ? "Seen" : "";
      Array.prototype.forEach.call(li.querySelectorAll("button.mark"), function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-mark") === e.mark ? "true" : "false");
      });
    }

    function open(li, want) {
      var button = li.querySelector("button.reveal");
      button.setAttribute("aria-expanded", want ? "true" : "false");
      button.textContent = want ? "Hide answer" : "Show answer";
      li.classList.toggle("open", want);
      if (want && !entry(li.getAttribute("data-key")).seen) {
        update(li.getAttribute("data-key"), { seen: true });
        paint(li);
      }
    }

    function toggle(li) {
      open(li, !li.classList.contains("open"));
    }

    function mark(li, which) {
      var key = li.getAttribute("data-key");
      update(key, { seen: true, mark: entry(key).mark === which ? "" : which });
      paint(li);
    }

    function setCurrent(index, focus) {
      if (current >= 0 && items[current]) items[current].classList.remove("current");
      current = index;
      var li = items[index];
      li.classList.add("current");
      if (focus) {
        li.querySelector("button.reveal").focus({ preventScroll: true });
        li.scrollIntoView({ block: "nearest" });
      }
    }

    function visible() {
      return items.filter(function (li) {
        return !li.hidden;
      });
    }

    function move(step) {
      var list = visible();
      if (!list.length) return;
      var at = list.indexOf(items[current]);
      var next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.max(0, Math.min(list.length - 1, at + step));
      setCurrent(items.indexOf(list[next]), true);
    }

    // filters: difficulty (checkboxes) and status (radios), remembered between pages
    var saved = readJson(FILTER, {});
    var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="difficulty"]'));
    var statusChoice = document.getElementById("status-filter");
    var hidden = Array.isArray(saved.hide) ? saved.hide : [];
    boxes.forEach(function (box) {
      box.checked = hidden.indexOf(box.value) < 0;
    });
    var only = new URLSearchParams(window.location.search).get("only");
    var status = only === "missed" || only === "unseen" ? only : saved.status || "all";
    statusChoice.value = status === "missed" || status === "unseen" ? status : "all";

    function filter() {
      var wanted = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      var st = statusChoice.value;
      var count = 0;
      items.forEach(function (li) {
        var e = entry(li.getAttribute("data-key"));
        var ok = wanted.indexOf(li.getAttribute("data-difficulty")) >= 0 &&
          (st === "all" || (st === "unseen" && !e.seen && !e.mark) || (st === "missed" && e.mark === "missed"));
        li.hidden = !ok;
        if (ok) count += 1;
      });
      shown.textContent = count === items.length ? plural(items.length, "question")
        : "Showing " + count + " of " + plural(items.length, "question");
      writeJson(FILTER, {
        hide: boxes.filter(function (b) { return !b.checked; }).map(function (b) { return b.value; }),
        status: st
      });
    }

    boxes.concat([statusChoice]).forEach(function (input) {
      input.addEventListener("change", filter);
    });

    items.forEach(function (li, index) {
      paint(li);
      li.querySelector("button.reveal").addEventListener("click", function () {
        setCurrent(index, false);
        toggle(li);
      });
      Array.prototype.forEach.call(li.querySelectorAll("button.mark"), function (b) {
        b.addEventListener("click", function () {
          setCurrent(index, false);
          mark(li, b.getAttribute("data-mark"));
        });
      });
      li.addEventListener("focusin", function () {
        if (current !== index) setCurrent(index, false);
      });
    });

    document.getElementById("reveal-all").addEventListener("click", function () {
      visible().forEach(function (li) { open(li, true); });
    });
    document.getElementById("hide-all").addEventListener("click", function () {
      items.forEach(function (li) { open(li, false); });
    });

    document.addEventListener("keydown", function (ev) {
      if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      var target = ev.target;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      var key = ev.key;
      if (key === "j" || key === "ArrowDown") {
        move(1);
      } else if (key === "k" || key === "ArrowUp") {
        move(-1);
      } else if (key === " " || key === "Enter") {
        // a focused button, link or summary does its own thing
        if (target && target.closest && target.closest("button, a, summary, pre, .table")) return;
        if (current < 0) move(1);
        if (current >= 0) toggle(items[current]);
      } else if ((key === "y" || key === "n") && current >= 0) {
        open(items[current], true);
        mark(items[current], key === "y" ? "knew" : "missed");
      } else {
        return;
      }
      ev.preventDefault();
    });

    window.addEventListener("storage", function (ev) {
      if (ev.key !== PROGRESS) return;
      progress = clean(readJson(PROGRESS, {}));
      items.forEach(paint);
    });

    var target = window.location.hash ? document.getElementById(window.location.hash.slice(1)) : null;
    if (target && items.indexOf(target) >= 0) setCurrent(items.indexOf(target), false);
    filter();
  }

  // --- the contents page ---------------------------------------------------------------------------

  function setupIndex() {
    var summary = document.getElementById("progress-summary");
    if (!summary) return;
    var message = document.getElementById("progress-message");

    function show() {
      var all = tally("");
      summary.textContent = all.seen === 0 ? "Nothing marked yet."
        : "Seen " + plural(all.seen, "question") + ": knew " + all.knew + ", didn't know " + all.missed + ".";
      Array.prototype.forEach.call(document.querySelectorAll("li[data-prefix]"), function (li) {
        var t = tally(li.getAttribute("data-prefix"));
        li.querySelector(".done").textContent = t.seen === 0 ? ""
          : "seen " + t.seen + " of " + li.getAttribute("data-total") + (t.missed ? ", " + t.missed + " missed" : "");
      });
    }

    document.getElementById("progress-export").addEventListener("click", function () {
      var text = JSON.stringify({ format: "qaexport-progress", version: 1, progress: progress }, null, 1);
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text + "\n"], { type: "application/json" }));
      link.download = "qaexport-progress.json";
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
      message.textContent = "Saved the progress of " + plural(Object.keys(progress).length, "question") + ".";
    });

    document.getElementById("progress-load").addEventListener("click", function () {
      document.getElementById("progress-import").click();
    });
    document.getElementById("progress-import").addEventListener("change", function (ev) {
      var file = ev.target.files && ev.target.files[0];
      if (!file) return;
      if (file.size > 16 * 1024 * 1024) {
        message.textContent = "That file is too big to be a progress file.";
        return;
      }
      file.text().then(function (text) {
        var data = JSON.parse(text);
        if (!data || data.format !== "qaexport-progress" || typeof data.progress !== "object") throw new Error();
        var loaded = clean(data.progress);
        var taken = 0;
        Object.keys(loaded).forEach(function (key) {
          if (!progress[key] || loaded[key].at > progress[key].at) {
            progress[key] = loaded[key];
            taken += 1;
          }
        });
        writeJson(PROGRESS, progress);
        message.textContent = "Loaded the progress of " + plural(taken, "question") + " (newer than what was here).";
        show();
      }).catch(function () {
        message.textContent = "That file is not a qaexport progress file.";
      });
      ev.target.value = "";
    });

    document.getElementById("progress-reset").addEventListener("click", function () {
      if (!window.confirm("Forget what you marked on every question? Save it to a file first to keep it.")) return;
      progress = Object.create(null);
      writeJson(PROGRESS, progress);
      message.textContent = "Progress forgotten.";
      show();
    });

    window.addEventListener("storage", function (ev) {
      if (ev.key === PROGRESS) {
        progress = clean(readJson(PROGRESS, {}));
        show();
      }
    });
    show();
  }

  // --- search and review (read the prebuilt index) -------------------------------------------------

  function words(text) {
    return (text.normalize("NFC").toLowerCase().match(/[\p{L}\p{N}_]+/gu) || []).filter(function (w) {
      return w.length <= 40;
    });
  }

  function lowerBound(list, value) {
    var lo = 0;
    var hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /* Questions holding every word (each one as a prefix of a word), best first: words in the question
     before words only in the answer. */
  function search(index, text) {
    var wanted = words(text);
    if (!wanted.length) return [];
    var found = null;
    wanted.forEach(function (w) {
      var docs = new Set();
      for (var i = lowerBound(index.terms, w); i < index.terms.length && index.terms[i].indexOf(w) === 0; i++) {
        index.postings[i].forEach(function (d) { docs.add(d); });
      }
      found = found === null ? docs : new Set(Array.from(found).filter(function (d) { return docs.has(d); }));
    });
    return Array.from(found).map(function (d) {
      var question = index.docs[d][2].normalize("NFC").toLowerCase();
      var inQuestion = wanted.filter(function (w) { return question.indexOf(w) >= 0; }).length;
      return { doc: d, score: inQuestion, answerOnly: inQuestion === 0 };
    }).sort(function (a, b) {
      return b.score - a.score || a.doc - b.doc;
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function questionLink(index, d, root) {
    var doc = index.docs[d];
    var page = index.pages[doc[0]];
    var link = el("a", "", doc[2]);
    link.href = root + page[0] + "#q-" + doc[1];
    return link;
  }

  var SHOWN_RESULTS = 200;

  function setupSearch() {
    var list = document.getElementById("search-results");
    if (!list) return;
    var status = document.getElementById("search-status");
    var box = document.getElementById("site-search");
    var index = window.qaexportIndex;
    var root = document.body.getAttribute("data-root") || "";

    function run(text) {
      list.textContent = "";
      if (!words(text).length) {
        status.textContent = "Type words from a question or an answer in the search box.";
        return;
      }
      var results = search(index, text);
      status.textContent = results.length === 0 ? "No question or answer holds “" + text.trim() + "”."
        : plural(results.length, "question") + " found for “" + text.trim() + "”" +
          (results.length > SHOWN_RESULTS ? "; the first " + SHOWN_RESULTS + " are shown." : ".");
      results.slice(0, SHOWN_RESULTS).forEach(function (r) {
        var doc = index.docs[r.doc];
        var li = el("li");
        li.appendChild(questionLink(index, r.doc, root));
        var meta = el("p", "where", index.pages[doc[0]][2]);
        if (doc[3] !== "unrated") {
          meta.appendChild(document.createTextNode(" "));
          meta.appendChild(el("span", "badge " + doc[3], doc[3]));
        }
        if (r.answerOnly) meta.appendChild(el("span", "in-answer", " · found in the answer"));
        li.appendChild(meta);
        list.appendChild(li);
      });
    }

    var query = new URLSearchParams(window.location.search).get("q") || "";
    box.value = query;
    var timer = 0;
    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        run(box.value);
        try {
          window.history.replaceState(null, "", "?q=" + encodeURIComponent(box.value));
        } catch (e) {
          /* some browsers refuse this on file:// pages: the results still show */
        }
      }, 120);
    });
    document.querySelector("form.search").addEventListener("submit", function (ev) {
      ev.preventDefault();
      window.clearTimeout(timer);
      run(box.value);
    });
    run(query);
  }

  function setupReview() {
    var holder = document.getElementById("review-list");
    if (!holder) return;
    var status = document.getElementById("review-status");
    var index = window.qaexportIndex;
    var byKey = Object.create(null);
    index.docs.forEach(function (doc, d) {
      byKey[index.pages[doc[0]][1] + "/" + doc[1]] = d;
    });

    function show() {
      holder.textContent = "";
      var groups = Object.create(null);
      var order = [];
      var gone = 0;
      Object.keys(progress).forEach(function (key) {
        if (progress[key].mark !== "missed") return;
        if (!(key in byKey)) {
          gone += 1;
          return;
        }
        var d = byKey[key];
        var page = index.docs[d][0];
        if (!(page in groups)) {
          groups[page] = [];
          order.push(page);
        }
        groups[page].push(d);
      });
      order.sort(function (a, b) { return a - b; });
      var total = 0;
      order.forEach(function (page) {
        var docs = groups[page].sort(function (a, b) { return a - b; });
        total += docs.length;
        var section = el("section", "review-group");
        var title = el("h2", "", index.pages[page][2]);
        title.id = "missed-" + page;
        section.setAttribute("aria-labelledby", title.id);
        section.appendChild(title);
        var study = el("a", "button", "Study these " + docs.length + " again");
        study.href = index.pages[page][0] + "?only=missed";
        section.appendChild(el("p")).appendChild(study);
        var list = el("ol");
        docs.forEach(function (d) {
          list.appendChild(el("li")).appendChild(questionLink(index, d, ""));
        });
        section.appendChild(list);
        holder.appendChild(section);
      });
      status.textContent = total === 0 ? "Nothing missed yet: questions you mark “Didn't know” appear here."
        : "You missed " + plural(total, "question") + " in " + plural(order.length, "subtopic") + "." +
          (gone ? " " + plural(gone, "marked question") + " are no longer in this site." : "");
    }

    window.addEventListener("storage", function (ev) {
      if (ev.key === PROGRESS) {
        progress = clean(readJson(PROGRESS, {}));
        show();
      }
    });
    show();
  }

  setupTheme();
  setupQuestions();
  setupIndex();
  setupSearch();
  setupReview();
})();
