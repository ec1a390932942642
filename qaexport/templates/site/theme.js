/* Runs in <head>, before the page is drawn: the reader's colour choice (kept in localStorage) applies at once,
   and the "js" class shows the controls that need this script and hides the answers. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  try {
    var theme = window.localStorage.getItem("qaexport.theme");
    if (theme === "light" || theme === "night") {
      root.setAttribute("data-theme", theme);
    }
  } catch (e) {
    /* storage refused (private mode, file:// policy): the system's colours apply */
  }
})();
