/* Region page map: the node's children (or the grid itself) from /api/v1/regions/<code>/geojson,
 * fitted to their bounds, labelled with their names; clicking a child opens its page.
 * Everything it needs comes from data- attributes on #region-map; no CDN, no inline script.
 * When the layer is on the map it sets data-features="N" and data-state="ready" (tests wait on it). */
(function () {
  "use strict";

  var el = document.getElementById("region-map");
  if (!el) {
    return;
  }
  var ds = el.dataset;

  function showError(message) {
    el.dataset.state = "error";
    var box = document.createElement("div");
    box.className = "map-error";
    box.setAttribute("role", "alert");
    box.textContent = message;
    el.appendChild(box);
  }

  if (typeof L === "undefined") {
    el.classList.add("map-unavailable");
    showError("地图组件未能加载，请刷新页面或联系系统管理员。");
    return;
  }
  var PALETTE = ["#2f6fb0", "#3f9c6d", "#c7803a", "#8a5cb8", "#c24f5d", "#2a9aa8", "#8f8a2e", "#5a6fd1"];
  // Permanent labels stay readable up to about this many shapes; beyond it they show on hover.
  var MAX_PERMANENT_LABELS = 40;

  var map = L.map(el, { zoomSnap: 0.25, preferCanvas: false, attributionControl: true });
  map.attributionControl.setPrefix("Leaflet");
  if (ds.tileUrl) {
    L.tileLayer(ds.tileUrl, { attribution: ds.tileAttribution || "", maxZoom: 18 }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  map.setView([31.17, 112.59], 9); // 钟祥市, until the shapes arrive

  function detailUrl(code) {
    return ds.detailUrl.replace(ds.codePlaceholder, encodeURIComponent(code));
  }

  function baseStyle(feature, index) {
    var isSelf = feature.properties.code === ds.code;
    return {
      color: "#0b4f8a",
      weight: isSelf ? 3 : 1.5,
      fillColor: isSelf ? "#2f6fb0" : PALETTE[index % PALETTE.length],
      fillOpacity: 0.28,
    };
  }

  var byCode = {};

  // Where a shape's name goes: its representative point, which (unlike Leaflet's centroid) lies
  // inside even a concave shape. From the feature if the API gives it, else from the page.
  function labelPoint(p) {
    var pair = p.centroid;
    if (!pair) {
      var row = document.querySelector('#children-table tr[data-code="' + p.code + '"]');
      var text = row ? row.dataset.centroid : p.code === ds.code ? ds.centroid : "";
      pair = text ? text.split(",").map(Number) : null;
    }
    return pair && isFinite(pair[0]) && isFinite(pair[1]) ? L.latLng(pair[1], pair[0]) : null;
  }

  function highlight(code, on) {
    var layer = byCode[code];
    if (!layer) {
      return;
    }
    layer.setStyle(on ? { weight: 3, fillOpacity: 0.5 } : layer.gridgovStyle);
    if (on) {
      layer.bringToFront();
    }
    var row = document.querySelector('#children-table tr[data-code="' + code + '"]');
    if (row) {
      row.classList.toggle("highlight", on);
    }
  }

  fetch(ds.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (collection) {
      var features = (collection.features || []).filter(function (f) {
        return f.geometry;
      });
      var permanent = features.length <= MAX_PERMANENT_LABELS;
      var order = {};
      features.forEach(function (f, i) { order[f.properties.code] = i; });
      var styleOf = function (feature) {
        return baseStyle(feature, order[feature.properties.code]);
      };
      var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
        style: styleOf,
        onEachFeature: function (feature, shape) {
          var p = feature.properties;
          shape.gridgovStyle = styleOf(feature);
          byCode[p.code] = shape;
          shape.bindTooltip(p.name, {
            permanent: permanent,
            sticky: !permanent,
            direction: permanent ? "center" : "top",
            className: "region-label",
          });
          var drill = p.drill && p.code !== ds.code;
          shape.on("mouseover", function () { highlight(p.code, true); });
          shape.on("mouseout", function () { highlight(p.code, false); });
          if (drill) {
            shape.on("click", function () {
              window.location.href = detailUrl(p.code);
            });
          }
          shape.on("add", function () {
            var at = permanent && labelPoint(p);
            if (at) {
              shape.openTooltip(at);
            }
            var path = shape.getElement && shape.getElement();
            if (path) {
              path.setAttribute("data-code", p.code);
              path.setAttribute("aria-label", p.name);
              if (!drill) {
                path.classList.add("no-drill");
              }
            }
          });
        },
      }).addTo(map);
      if (features.length) {
        map.fitBounds(layer.getBounds(), { padding: [16, 16] });
      } else if (collection.bbox) {
        var b = collection.bbox;
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
      }
      document.querySelectorAll("#children-table tr[data-code]").forEach(function (row) {
        row.addEventListener("mouseenter", function () { highlight(row.dataset.code, true); });
        row.addEventListener("mouseleave", function () { highlight(row.dataset.code, false); });
      });
      el.dataset.features = String(features.length);
      el.dataset.state = "ready";
    })
    .catch(function (err) {
      if (window.console) {
        console.error("region map:", err);
      }
      showError(ds.errorText || "地图数据加载失败");
    });
})();
