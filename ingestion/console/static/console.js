// Draws the page's charts with the locally served plotly.js (no network), one per task so the
// page stays responsive and the first charts appear while the others are drawn.
(function () {
  "use strict";
  function drawAll() {
    if (typeof Plotly === "undefined") { return; }
    var pending = Array.prototype.slice.call(document.querySelectorAll(".chart[data-figure]"));
    function next() {
      var el = pending.shift();
      if (!el) { return; }
      var fig = JSON.parse(el.getAttribute("data-figure"));
      Plotly.newPlot(el, fig.data, fig.layout, fig.config).then(function () {
        el.setAttribute("data-rendered", "true");
        window.setTimeout(next, 0);
      });
    }
    next();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
