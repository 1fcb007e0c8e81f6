// Draws each dashboard figure with ECharts (served locally) from the JSON the page embeds.
(function () {
  "use strict";

  function unique(values) {
    var seen = [];
    values.forEach(function (v) { if (seen.indexOf(v) < 0) { seen.push(v); } });
    return seen;
  }

  function number(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  function find(rows, test) {
    for (var i = 0; i < rows.length; i++) { if (test(rows[i])) { return rows[i]; } }
    return null;
  }

  function option(spec) {
    var rows = spec.rows;
    var categories = unique(rows.map(function (r) { return r[spec.x]; }));
    var series;
    if (spec.series) {
      var field = spec.y[0][0];
      series = unique(rows.map(function (r) { return r[spec.series]; })).map(function (name) {
        return {
          name: String(name), type: spec.chart, stack: spec.stacked ? "total" : undefined,
          data: categories.map(function (c) {
            var row = find(rows, function (r) { return r[spec.x] === c && r[spec.series] === name; });
            return row ? number(row[field]) : null;
          })
        };
      });
    } else {
      series = spec.y.map(function (pair) {
        return {
          name: pair[1], type: spec.chart, stack: spec.stacked ? "total" : undefined,
          data: categories.map(function (c) {
            var row = find(rows, function (r) { return r[spec.x] === c; });
            return row ? number(row[pair[0]]) : null;
          })
        };
      });
    }
    if (spec.target !== null && series.length) {
      series[0].markLine = {
        symbol: "none", silent: true,
        label: { formatter: spec.targetLabel + " " + spec.target },
        lineStyle: { type: "dashed", color: "#d9534f" },
        data: [{ yAxis: spec.target }]
      };
    }
    // values start at zero (a 96% bar is never drawn ten times a 95% one); rates end at 100
    var values = { type: "value", min: 0, max: spec.percent ? 100 : undefined };
    var names = { type: "category", data: categories, inverse: spec.horizontal };
    if (spec.horizontal) {  // ranked estates read top-down, worst first, names in full
      return {
        tooltip: { trigger: "axis" }, legend: { top: 0, type: "scroll" },
        grid: { left: 10, right: 40, top: 40, bottom: 20, containLabel: true },
        xAxis: values, yAxis: names, series: series.map(function (s) {
          if (s.markLine) { s.markLine.data = [{ xAxis: spec.target }]; }
          return s;
        })
      };
    }
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 50, right: 30, top: 40, bottom: 40 },
      xAxis: names,
      yAxis: values,
      series: series
    };
  }

  // a table of 100+ estates: typing part of a name keeps only the matching rows
  function filterTable(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    var text = input.value.trim();
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      row.hidden = text !== "" && row.textContent.indexOf(text) < 0;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input.table-search"), function (input) {
      input.addEventListener("input", function () { filterTable(input); });
    });
    var boxes = document.querySelectorAll("[data-figure]");
    Array.prototype.forEach.call(boxes, function (box) {
      var spec = JSON.parse(document.getElementById(box.getAttribute("data-figure")).textContent);
      var chart = window.echarts.init(box);
      chart.setOption(option(spec));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  });
})();
