/* Draws the report page's charts with plotly.js: each figure is a JSON script element
   naming the element it is drawn into. No network: plotly.js is inline or served by the hub. */
(function () {
  "use strict";
  function draw() {
    var figures = document.querySelectorAll('script[type="application/json"][data-chart]');
    Array.prototype.forEach.call(figures, function (node) {
      var figure = JSON.parse(node.textContent);
      var target = document.getElementById(node.getAttribute("data-chart"));
      if (target === null || typeof Plotly === "undefined") {
        return;
      }
      Plotly.newPlot(target, figure.data, figure.layout, {
        displaylogo: false,
        responsive: true,
        toImageButtonOptions: { filename: target.id }
      });
    });
    document.documentElement.setAttribute("data-charts", "drawn");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
