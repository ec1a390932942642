/* qaexport serve: reload this page when the bank changes. The server's event stream says the bank's version;
   a version other than the one this page was made from means a save happened. The answers that were open are
   opened again after the reload, and the browser keeps the scroll position. */
(function () {
  "use strict";
  var script = document.currentScript;
  var shown = script ? script.getAttribute("data-version") : null;
  var OPEN = "qaexport.serve.open";

  try {
    var open = JSON.parse(window.sessionStorage.getItem(OPEN) || "[]");
    window.sessionStorage.removeItem(OPEN);
    open.forEach(function (id) {
      var item = document.getElementById(id);
      var button = item && item.querySelector("button.reveal");
      if (button && button.getAttribute("aria-expanded") !== "true") button.click();
    });
  } catch (e) {
    /* nothing to reopen */
  }

  var events = new EventSource("/__serve__/events");
  events.addEventListener("version", function (ev) {
    if (ev.data === shown) return;
    events.close();
    try {
      var ids = Array.prototype.map.call(document.querySelectorAll("li.qa.open"), function (li) { return li.id; });
      window.sessionStorage.setItem(OPEN, JSON.stringify(ids));
    } catch (e) {
      /* the answers start hidden again */
    }
    window.location.reload();
  });
})();
