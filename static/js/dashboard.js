/* VERTEBRA coordinator's dashboard: the recruitment chart. Loaded from our own origin (CSP
   script-src 'self'); the data come from a json_script element, the page works without it. */
(function () {
  "use strict";
  var COLOURS = ["#1f4e79", "#b02a37", "#198754", "#e0a800", "#6f42c1", "#0dcaf0", "#fd7e14", "#6c757d"];
  var canvas = document.getElementById("recruitment-chart");
  if (!canvas || !window.Chart || canvas.dataset.drawn) return;
  canvas.dataset.drawn = "1";
  var data = JSON.parse(document.getElementById(canvas.dataset.chartSource).textContent);
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: data.datasets.map(function (set, i) {
        var colour = COLOURS[i % COLOURS.length];
        return { label: set.label, data: set.data, borderColor: colour, backgroundColor: colour, stepped: true };
      }),
    },
    options: {
      animation: false,
      aspectRatio: 3,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: data.title } } },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    },
  });
})();
