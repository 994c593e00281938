/* Draws the statistics dashboard's charts with Chart.js (served from npm through staticfiles). */
(function () {
  "use strict";
  var el = document.getElementById("stats-data");
  if (!el || typeof Chart === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  Chart.defaults.font.family = '"Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var palette = ["#1e5fbf", "#067647", "#b54708", "#b42318", "#6941c6", "#667085"];
  function colored(sets) {
    return sets.map(function (s, i) {
      return Object.assign({ borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], spanGaps: false }, s);
    });
  }
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { canvas.chart = new Chart(canvas, config); }
  }
  draw("chart-trend", { type: "line", data: { labels: data.months, datasets: colored(data.trend) },
    options: { scales: { y: { beginAtZero: true } } } });
  draw("chart-domain", { type: "bar", data: { labels: data.domains, datasets: colored(data.by_domain) },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } });
  draw("chart-accept", { type: "line", data: { labels: data.months, datasets: colored(data.accept) },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: data.hours } } } } });
  draw("chart-funnel", { type: "bar", data: { labels: data.funnel.labels,
    datasets: colored([{ label: data.funnel.labels[0], data: data.funnel.data }]) },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } } });
  document.body.setAttribute("data-charts-ready", "1");
})();
