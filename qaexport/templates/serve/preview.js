/* qaexport serve's preview page: each card frame grows to its card's height (the frames are this server's own
   pages, so their size can be read) and, where the window is narrower than the frame's view, is drawn scaled down
   to the window's width: the card stays laid out at its view's width (360 or 800 px), as on that screen. */
(function () {
  "use strict";
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) {
        frame.style.height = "1px"; // the content's own height, not the frame's
        frame.style.height = (doc.documentElement.scrollHeight + 2) + "px";
      }
    } catch (e) {
      /* not readable: keep the frame's own height */
    }
    var box = frame.parentNode, room = box.parentNode.clientWidth;
    var width = frame.offsetWidth, height = frame.offsetHeight;
    var scale = width > room && room > 0 ? room / width : 1;
    frame.style.transform = scale < 1 ? "scale(" + scale + ")" : "";
    box.style.width = scale < 1 ? (width * scale) + "px" : "";
    box.style.height = scale < 1 ? (height * scale) + "px" : "";
  }
  var frames = document.querySelectorAll("iframe.card-frame");
  Array.prototype.forEach.call(frames, function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    fit(frame);
  });
  window.addEventListener("resize", function () { Array.prototype.forEach.call(frames, fit); });
})();
