/* Dashboard and wall screen: the choropleth map (Leaflet, children of the node coloured by the chosen
 * KPI, click to drill down), the trend and source charts (ECharts), and on the wall screen a refresh
 * of every figure each data-refresh-seconds. All data comes from /api/v1/dashboard with the session
 * cookie; all settings from data- attributes. No inline script (CSP). Sets data-state="ready" on the
 * map and charts when drawn (tests wait on it). */
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) {
        throw new Error("HTTP " + r.status);
      }
      return r.json();
    });
  }

  function fail(el, text) {
    if (!el) {
      return;
    }
    el.dataset.state = "error";
    var box = document.createElement("p");
    box.className = "empty";
    box.setAttribute("role", "alert");
    box.textContent = text;
    el.appendChild(box);
  }

  // --- map -------------------------------------------------------------------------------------
  var mapEl = document.getElementById("dash-map");
  var kpiSelect = document.getElementById("map-kpi");
  var legend = document.getElementById("map-legend");
  var map = null;
  var layer = null;
  var shapes = null;
  var values = {};
  var COLOURS = ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];

  function colour(v, min, max) {
    if (v === null || v === undefined) {
      return "#dddddd";
    }
    if (max === min) {
      return COLOURS[3];
    }
    var i = Math.min(COLOURS.length - 1, Math.floor(((v - min) / (max - min)) * COLOURS.length));
    return COLOURS[i];
  }

  function drawMap() {
    if (!map || !shapes) {
      return;
    }
    var key = kpiSelect ? kpiSelect.value : "case_reported";
    var nums = Object.keys(values).map(function (c) { return values[c][key]; })
      .filter(function (v) { return v !== null && v !== undefined; });
    var min = nums.length ? Math.min.apply(null, nums) : 0;
    var max = nums.length ? Math.max.apply(null, nums) : 0;
    if (layer) {
      map.removeLayer(layer);
    }
    layer = L.geoJSON(shapes, {
      style: function (f) {
        var row = values[f.properties.code] || {};
        return { color: "#0b4f8a", weight: 1, fillOpacity: 0.75, fillColor: colour(row[key], min, max) };
      },
      onEachFeature: function (f, lyr) {
        var row = values[f.properties.code] || {};
        var v = row[key];
        lyr.bindTooltip(f.properties.name + "：" + (v === null || v === undefined ? "—" : v));
        if (f.properties.drill && f.properties.code !== mapEl.dataset.code) {
          lyr.on("click", function () {
            window.location.href = mapEl.dataset.nodeUrl.replace("000000", f.properties.code) + "?" + mapEl.dataset.query;
          });
        }
      },
    }).addTo(map);
    if (!mapEl.dataset.fitted) {
      map.fitBounds(layer.getBounds());
      mapEl.dataset.fitted = "1";
    }
    if (legend && kpiSelect) {
      legend.textContent = kpiSelect.options[kpiSelect.selectedIndex].text + "：最低 " + min + "，最高 " + max +
        "（颜色越深数值越大；点击区域进入下一级）";
    }
    mapEl.dataset.kpi = key;
    mapEl.dataset.features = String(shapes.features.length);
    mapEl.dataset.state = "ready";
  }

  function loadMapValues() {
    return getJSON(mapEl.dataset.childrenUrl).then(function (data) {
      values = {};
      data.items.forEach(function (row) { values[row.code] = row; });
      drawMap();
    });
  }

  if (mapEl) {
    if (typeof L === "undefined") {
      fail(mapEl, "地图组件未能加载，请刷新页面或联系系统管理员。");
    } else {
      map = L.map(mapEl, { zoomSnap: 0.25 });
      map.attributionControl.setPrefix("Leaflet");
      if (mapEl.dataset.tileUrl) {
        L.tileLayer(mapEl.dataset.tileUrl, { attribution: mapEl.dataset.tileAttribution || "", maxZoom: 18 }).addTo(map);
      }
      map.setView([31.17, 112.59], 9);
      Promise.all([getJSON(mapEl.dataset.geojsonUrl), loadMapValues()]).then(function (res) {
        shapes = res[0];
        drawMap();
      }).catch(function () { fail(mapEl, "地图数据加载失败，请刷新页面重试。"); });
      if (kpiSelect) {
        kpiSelect.addEventListener("change", drawMap);
      }
    }
  }

  // --- charts ----------------------------------------------------------------------------------
  var trendEl = document.getElementById("trend-chart");
  var granularity = document.getElementById("trend-granularity");
  var sourceEl = document.getElementById("source-chart");
  var trendChart = null;
  var sourceChart = null;
  var hasCharts = typeof echarts !== "undefined";

  function loadTrend() {
    if (!trendEl) {
      return Promise.resolve();
    }
    var g = granularity ? granularity.value : "day";
    return getJSON(trendEl.dataset.url + "&granularity=" + g).then(function (data) {
      trendChart = trendChart || echarts.init(trendEl);
      trendChart.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 40, bottom: 30 },
        xAxis: { type: "category", data: data.labels },
        yAxis: { type: "value" },
        series: data.series.map(function (s) { return { name: s.name, type: "line", data: s.data, smooth: true }; }),
      }, true);
      trendEl.dataset.state = "ready";
      trendEl.dataset.points = String(data.labels.length);
    });
  }

  function setFigure(el, data) {
    var path = el.dataset.kpi.split(".");
    var v = data;
    path.forEach(function (p) { v = v === null || v === undefined ? v : v[p]; });
    el.textContent = v === null || v === undefined ? "—" : String(v) + (el.dataset.suffix || "");
  }

  function loadKpis() {
    if (!sourceEl) {
      return Promise.resolve();
    }
    return getJSON(sourceEl.dataset.url).then(function (data) {
      sourceChart = sourceChart || echarts.init(sourceEl);
      var rows = data.cases.by_source;
      sourceChart.setOption({
        title: rows.length ? undefined : { text: "本期没有上报事件", left: "center", top: "middle" },
        tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: ["35%", "65%"],
                   data: rows.map(function (s) { return { name: s.name, value: s.count }; }) }],
      }, true);
      sourceEl.dataset.state = "ready";
      document.querySelectorAll("[data-kpi]").forEach(function (el) {
        if (el.tagName !== "SELECT" && el.id !== "dash-map") {
          setFigure(el, data);
        }
      });
    });
  }

  if (hasCharts) {
    loadTrend().catch(function () { fail(trendEl, "趋势数据加载失败。"); });
    loadKpis().catch(function () { fail(sourceEl, "指标数据加载失败。"); });
    if (granularity) {
      granularity.addEventListener("change", function () { loadTrend(); });
    }
    window.addEventListener("resize", function () {
      if (trendChart) { trendChart.resize(); }
      if (sourceChart) { sourceChart.resize(); }
    });
  } else {
    fail(trendEl, "图表组件未能加载。");
  }

  // --- wall screen: refresh everything periodically ----------------------------------------------
  var wall = document.getElementById("wall");
  if (wall) {
    var seconds = Math.max(parseInt(wall.dataset.refreshSeconds || "60", 10), 10);
    var stamp = document.getElementById("wall-updated");
    var refresh = function () {
      var jobs = [loadKpis(), loadTrend()];
      if (mapEl && map) {
        jobs.push(loadMapValues());
      }
      Promise.all(jobs).then(function () {
        if (stamp) {
          stamp.textContent = new Date().toLocaleTimeString("zh-CN");
        }
        wall.dataset.refreshed = String(parseInt(wall.dataset.refreshed || "0", 10) + 1);
      }).catch(function () { /* keep the last figures on screen; the next round retries */ });
    };
    refresh();
    window.setInterval(refresh, seconds * 1000);
  }
})();
