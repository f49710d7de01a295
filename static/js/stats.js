// Statistics pages: draws the monthly report's charts with ECharts from the data attribute the server
// wrote (no inline scripts: CSP). Amounts arrive as exact decimal strings; they are parsed for drawing only.
(function () {
  "use strict";
  var holder = document.querySelector("[data-stats-charts]");
  if (!holder || !window.echarts) { return; }
  var data = JSON.parse(holder.getAttribute("data-stats-charts"));
  var labels = data.labels;
  var charts = [];

  function draw(name, option) {
    var el = holder.querySelector('[data-stats-chart="' + name + '"]');
    if (!el) { return; }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    el.setAttribute("data-rendered", "1");
    charts.push(chart);
  }

  var types = data.by_trade_type;
  draw("by_trade_type", {
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { bottom: 0 },
    grid: { left: 56, right: 64, top: 40, bottom: 84 },
    xAxis: { type: "category", data: types.map(function (g) { return g.name; }),
             axisLabel: { interval: 0, width: 84, overflow: "break", lineHeight: 14 } },
    yAxis: [{ type: "value", name: labels.deals, minInterval: 1, nameTextStyle: { align: "left" } },
            { type: "value", name: labels.deal, nameTextStyle: { align: "right" }, splitLine: { show: false } }],
    series: [
      { name: labels.deals, type: "bar", barMaxWidth: 28, data: types.map(function (g) { return g.deals; }) },
      { name: labels.failed, type: "bar", barMaxWidth: 28, data: types.map(function (g) { return g.failed; }) },
      { name: labels.deal, type: "bar", barMaxWidth: 28, yAxisIndex: 1, data: types.map(function (g) { return Number(g.deal_wan); }) }
    ]
  });

  var regions = data.by_region.filter(function (g) { return Number(g.deal_wan) > 0; });
  draw("by_region", {
    animation: false,
    tooltip: { trigger: "item" },
    legend: { bottom: 0, type: "scroll" },
    title: regions.length ? undefined : { text: "—", left: "center", top: "middle" },
    series: [{ name: labels.deal, type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
               label: { formatter: "{b}\n{c}" },
               data: regions.map(function (g) { return { name: g.name, value: Number(g.deal_wan) }; }) }]
  });

  // a stage no lot of the month went through has no bar (and "—"), not a bar of 0 days
  draw("durations", {
    animation: false,
    tooltip: { trigger: "axis" },
    grid: { left: 48, right: 24, top: 32, bottom: 48 },
    xAxis: { type: "category", data: data.durations.map(function (d) { return d.name; }),
             axisLabel: { interval: 0, lineHeight: 14 } },
    yAxis: { type: "value", name: labels.avg_days },
    series: [{ name: labels.avg_days, type: "bar", barMaxWidth: 48,
               label: { show: true, position: "top", formatter: function (p) { return p.value === null ? "—" : p.value; } },
               data: data.durations.map(function (d) { return d.days === null ? null : Number(d.days); }) }]
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
