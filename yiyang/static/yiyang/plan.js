/* Plan cockpit charts. Data comes from json_script blocks (CSP forbids inline scripts).
   [data-chart="<id>"]: the id of the JSON block; data-chart-kind="option" passes an ECharts option
   built by the server (yiyang/plan/charts.py, the same definition the Word report draws). */
(function () {
  "use strict";
  function read(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function summaryOption(data) {
    return {
      aria: { enabled: true },
      animation: false,
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: data.labels.map(function (l, i) { return data.symbols[i] + " " + l; }), inverse: true },
      series: [{ type: "bar", data: data.values, label: { show: true, position: "right" },
        itemStyle: { color: function (p) { return ["#1b6b2f", "#a4161a", "#8a6d00", "#4a4a4a", "#0b5c8e"][p.dataIndex % 5]; } } }]
    };
  }
  function draw() {
    if (!window.echarts) { return; }
    var nodes = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (node) {
      var data = read(node.getAttribute("data-chart"));
      if (!data) { return; }
      var option = node.getAttribute("data-chart-kind") === "option" ? data : summaryOption(data);
      var chart = window.echarts.init(node, null, { renderer: "svg" });
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
