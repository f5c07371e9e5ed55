/* The camera layer on the region map: the user's region outline (regions API) and the cameras the
 * user may see (/api/v1/video/cameras/geojson) as circle markers coloured by status. Cameras the
 * user may watch now get a dark outline. Sets data-state="ready" and data-features="N" when drawn. */
(function () {
  "use strict";

  var el = document.getElementById("camera-map");
  if (!el) {
    return;
  }
  var ds = el.dataset;
  var COLOURS = { online: "#1d9a55", offline: "#8a9099", fault: "#d0342c" };
  var LABELS = { online: "在线", offline: "离线", fault: "故障" };

  function fail() {
    el.dataset.state = "error";
    var box = document.createElement("div");
    box.className = "map-error";
    box.setAttribute("role", "alert");
    box.textContent = ds.errorText;
    el.appendChild(box);
  }

  if (typeof L === "undefined") {
    fail();
    return;
  }
  var map = L.map(el, { zoomSnap: 0.25 });
  map.attributionControl.setPrefix("Leaflet");
  if (ds.tileUrl) {
    L.tileLayer(ds.tileUrl, { attribution: ds.tileAttribution || "", maxZoom: 18 }).addTo(map);
  }
  map.setView([31.17, 112.59], 9);

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) {
        throw new Error(String(r.status));
      }
      return r.json();
    });
  }

  if (ds.regionUrl) {
    getJSON(ds.regionUrl).then(function (fc) {
      L.geoJSON(fc, { style: { color: "#0b4f8a", weight: 1, fillOpacity: 0.05 }, interactive: false }).addTo(map);
    }).catch(function () { /* the outline is decoration; cameras still show */ });
  }

  getJSON(ds.camerasUrl).then(function (fc) {
    var layer = L.geoJSON(fc, {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        return L.circleMarker(latlng, {
          radius: 6, weight: p.watchable ? 2.5 : 1, color: p.watchable ? "#111" : "#fff",
          fillColor: COLOURS[p.status] || "#888", fillOpacity: 0.9,
        });
      },
      onEachFeature: function (feature, marker) {
        var p = feature.properties;
        var box = document.createElement("div");
        var title = document.createElement("a");
        title.href = ds.detailUrl.replace("/0/", "/" + p.id + "/");
        title.textContent = p.name + "（" + p.code + "）";
        var state = document.createElement("div");
        state.textContent = (LABELS[p.status] || p.status) + (p.watchable ? " · 可查看" : "");
        box.appendChild(title);
        box.appendChild(state);
        marker.bindPopup(box);
      },
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
    }
    el.dataset.features = String(fc.features.length);
    el.dataset.state = "ready";
  }).catch(fail);
})();
