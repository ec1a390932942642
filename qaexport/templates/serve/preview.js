/* qaexport serve's preview page: each card frame grows to its card's height (the frames are this server's own
   pages, so their size can be read). */
(function () {
  "use strict";
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      frame.style.height = "1px"; // the content's own height, not the frame's
      frame.style.height = (doc.documentElement.scrollHeight + 2) + "px";
    } catch (e) {
      /* not readable: keep the frame's own height */
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll("iframe.card-frame"), function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    fit(frame);
  });
})();
