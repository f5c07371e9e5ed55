/* Case page map: the case's grid from /api/v1/regions/<grid>/geojson with the reported point on top.
 * Everything comes from data- attributes on #case-map; no CDN, no inline script.
 * Sets data-state="ready" (or "error") when done, for tests. */
(function () {
  "use strict";

  var el = document.getElementById("case-map");
  if (!el) {
    return;
  }
  var ds = el.dataset;

  function fail(message) {
    el.dataset.state = "error";
    var box = document.createElement("div");
    box.className = "map-error";
    box.setAttribute("role", "alert");
    box.textContent = message;
    el.appendChild(box);
  }

  if (typeof L === "undefined") {
    el.classList.add("map-unavailable");
    fail("地图组件未能加载，请刷新页面或联系系统管理员。");
    return;
  }

  var map = L.map(el, { zoomSnap: 0.25, attributionControl: true });
  map.attributionControl.setPrefix("Leaflet");
  if (ds.tileUrl) {
    L.tileLayer(ds.tileUrl, { attribution: ds.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  var lon = parseFloat(ds.lon);
  var lat = parseFloat(ds.lat);
  var hasPoint = isFinite(lon) && isFinite(lat);
  map.setView(hasPoint ? [lat, lon] : [31.17, 112.59], hasPoint ? 15 : 9);

  function addPoint() {
    if (!hasPoint) {
      return;
    }
    L.circleMarker([lat, lon], {
      radius: 8, color: "#ffffff", weight: 2, fillColor: "#c62828", fillOpacity: 0.95,
    }).addTo(map).bindTooltip(ds.label || "上报位置", { direction: "top", offset: [0, -8] });
  }

  fetch(ds.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        style: { color: "#0b4f8a", weight: 2, fillColor: "#2f6fb0", fillOpacity: 0.18 },
        onEachFeature: function (feature, shape) {
          shape.bindTooltip(feature.properties.name, { sticky: true, className: "region-label" });
        },
      }).addTo(map);
      addPoint();
      var bounds = layer.getBounds();
      if (hasPoint) {
        bounds.extend([lat, lon]);
      }
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 });
      }
      el.dataset.state = "ready";
    })
    .catch(function (err) {
      if (window.console) {
        console.error("case map:", err);
      }
      addPoint();
      fail("网格边界加载失败");
    });
})();
