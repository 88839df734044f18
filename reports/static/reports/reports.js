// Draws the report pages' charts from the data each page hands over with json_script;
// the tables on the page carry the same figures for readers without JavaScript.
(function () {
  "use strict";
  var COLOURS = ["#2458c6", "#b3261e", "#b35c00", "#1e7a3c", "#7b3fb5", "#00838f", "#5b6475"];
  var lang = document.documentElement.lang || undefined;

  function dateLabel(value, unit) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) { return value; }
    var parts = value.split("-");
    var date = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    var options = unit === "month" ? { month: "short", year: "numeric" } : { day: "numeric", month: "short" };
    return new Intl.DateTimeFormat(lang, options).format(date);
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof window.Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var round = spec.type === "doughnut";
    var datasets = spec.datasets.map(function (set, index) {
      var colour = COLOURS[index % COLOURS.length];
      return Object.assign({
        backgroundColor: round ? COLOURS : colour,
        borderColor: round ? "#fff" : colour,
        borderWidth: round ? 1 : 2,
        pointRadius: 0,
        tension: 0.2
      }, set);
    });
    var numbers = new Intl.NumberFormat(lang);
    var scales = {};
    if (!round) {
      scales.x = { stacked: !!spec.stacked, ticks: { autoSkip: true, maxRotation: 0, callback: function (v) {
        return dateLabel(this.getLabelForValue(v), spec.unit);
      } } };
      scales.y = { stacked: !!spec.stacked, beginAtZero: true, ticks: { callback: function (v) { return numbers.format(v); } } };
      if (spec.dual) {
        scales.y1 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } };
      }
    }
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        locale: lang,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { title: function (items) {
            return items.length ? dateLabel(items[0].label, spec.unit) : "";
          } } }
        },
        scales: scales
      }
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
