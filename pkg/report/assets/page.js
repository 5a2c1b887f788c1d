// pinpipe pages: charts (Chart.js, inlined before this script), sortable
// tables, light and dark themes. No network.
(function () {
  "use strict";
  // Okabe-Ito and Tableau hues: distinguishable for most colour visions,
  // readable on light and dark backgrounds.
  var palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
    "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1"];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // specs are the spec of each chart made, by canvas, to draw it again in
  // the other colour scheme.
  var specs = new Map();

  // applyTheme sets the chart colours from the page's CSS and draws the
  // charts again with them (Chart.js resolves colours when a chart is made).
  function applyTheme() {
    Chart.defaults.color = cssVar("--fg");
    Chart.defaults.borderColor = cssVar("--line");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    specs.forEach(function (spec, canvas) {
      var old = Chart.getChart(canvas);
      var data = old ? old.data : null;
      if (old) { old.destroy(); }
      var ch = new Chart(canvas, config(spec));
      if (data) { ch.data.labels = data.labels; ch.data.datasets.forEach(function (d, i) { if (data.datasets[i]) { d.data = data.datasets[i].data; } }); ch.update("none"); }
    });
  }

  // config turns a pinpipe chart spec into a Chart.js configuration.
  function config(spec) {
    var bar = spec.type === "bar";
    var datasets = spec.datasets.map(function (d, i) {
      var c = palette[i % palette.length];
      return {
        label: d.label, data: d.data.slice(), backgroundColor: bar ? c : c + "33", borderColor: c,
        borderWidth: bar ? 0 : 2, pointRadius: 3, spanGaps: true, skipNull: !spec.stacked
      };
    });
    var index = spec.horizontal ? "y" : "x", value = spec.horizontal ? "x" : "y";
    var scales = {};
    scales[index] = { stacked: !!spec.stacked, ticks: { autoSkip: !spec.horizontal },
      title: { display: !!(spec.horizontal ? spec.yTitle : spec.xTitle), text: spec.horizontal ? spec.yTitle : spec.xTitle } };
    scales[value] = { stacked: !!spec.stacked, beginAtZero: true,
      title: { display: !!(spec.horizontal ? spec.xTitle : spec.yTitle), text: spec.horizontal ? spec.xTitle : spec.yTitle } };
    return {
      type: spec.type,
      data: { labels: spec.labels.slice(), datasets: datasets },
      options: {
        indexAxis: index, responsive: true, maintainAspectRatio: false, animation: false,
        scales: scales,
        plugins: { legend: { display: datasets.length > 1 }, tooltip: { intersect: false, mode: "nearest" } }
      }
    };
  }

  function makeChart(canvas, spec) {
    specs.set(canvas, spec);
    return new Chart(canvas, config(spec));
  }

  // Sortable tables: a click on a header's button sorts by that column,
  // ascending, then descending; numbers as numbers, nulls last.
  function sortBy(th) {
    var table = th.closest("table"), tbody = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.dataset.type === "num";
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col], y = b.cells[col];
      var xn = x.classList.contains("null"), yn = y.classList.contains("null");
      if (xn || yn) { return xn === yn ? 0 : (xn ? 1 : -1); }
      var r;
      if (numeric) { r = Number(x.textContent) - Number(y.textContent); }
      else { r = x.textContent < y.textContent ? -1 : (x.textContent > y.textContent ? 1 : 0); }
      return asc ? r : -r;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("th button");
    if (b && b.closest("table.sortable")) { sortBy(b.closest("th")); }
  });

  // fillTable replaces the rows of a table: rows are arrays of cells, a
  // number, a string or null.
  function fillTable(table, rows) {
    var tbody = table.tBodies[0];
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      row.forEach(function (v) {
        var td = document.createElement("td");
        if (v === null || v === undefined) { td.className = "null"; td.textContent = "null"; }
        else { td.textContent = String(v); if (typeof v === "number") { td.className = "num"; } }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }

  window.pinpipe = { makeChart: makeChart, config: config, fillTable: fillTable, applyTheme: applyTheme };

  function start() {
    applyTheme();
    if (window.matchMedia) {
      var mq = window.matchMedia("(prefers-color-scheme: dark)");
      if (mq.addEventListener) { mq.addEventListener("change", applyTheme); }
    }
    var specs = document.getElementById("chart-specs");
    if (!specs) { return; }
    var all = JSON.parse(specs.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (c) {
      makeChart(c, all[c.dataset.chart]);
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
