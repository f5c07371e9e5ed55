/* Report form: the reporter's area on a map; a click or the browser's GPS (WGS84) fills the hidden
 * lon/lat fields and shows which grid the point lies in (GET /api/v1/cases/route). Without a point
 * the form still posts with the chosen grid. No CDN, no inline script. */
(function () {
  "use strict";

  var form = document.getElementById("report-form");
  var el = document.getElementById("report-map");
  if (!form || !el) {
    return;
  }
  var ds = el.dataset;
  var lonInput = form.elements.lon;
  var latInput = form.elements.lat;
  var category = form.elements.category;
  var status = document.getElementById("gps-status");
  var hint = document.getElementById("place-hint");
  var gpsButton = document.getElementById("gps-button");

  function say(text, cls) {
    if (status) {
      status.textContent = text;
      status.className = "gps-status " + (cls || "muted");
    }
  }

  if (typeof L === "undefined") {
    el.classList.add("map-unavailable");
    el.textContent = "地图组件未能加载：可使用手机定位，或选择所在网格。";
  }

  var map = null;
  var marker = null;
  if (typeof L !== "undefined") {
    map = L.map(el, { zoomSnap: 0.25 });
    map.attributionControl.setPrefix("Leaflet");
    if (ds.tileUrl) {
      L.tileLayer(ds.tileUrl, { attribution: ds.tileAttribution || "", maxZoom: 19 }).addTo(map);
    }
    map.setView([31.17, 112.59], 9);
  }

  function describePlace() {
    var lon = parseFloat(lonInput.value);
    var lat = parseFloat(latInput.value);
    if (!isFinite(lon) || !isFinite(lat) || !form.dataset.routeUrl || !category || !category.value) {
      return;
    }
    var url = form.dataset.routeUrl + "?" + new URLSearchParams({ category: category.value, lon: lon, lat: lat });
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        if (!hint) {
          return;
        }
        if (!res.ok) {
          hint.textContent = (res.body && res.body.message) || "该位置无法确定所在网格";
          hint.className = "map-hint field-error";
          return;
        }
        var b = res.body;
        hint.textContent = "所在网格：" + b.grid.name + (b.department ? "；建议责任部门：" + b.department.name : "");
        hint.className = "map-hint";
      })
      .catch(function () { /* the server checks the place again on submit */ });
  }

  function setPoint(lat, lon, how) {
    lonInput.value = lon.toFixed(7);
    latInput.value = lat.toFixed(7);
    if (map) {
      if (!marker) {
        marker = L.circleMarker([lat, lon], {
          radius: 8, color: "#ffffff", weight: 2, fillColor: "#c62828", fillOpacity: 0.95,
        }).addTo(map);
      } else {
        marker.setLatLng([lat, lon]);
      }
    }
    say(how + "：" + lon.toFixed(5) + ", " + lat.toFixed(5), "ok");
    el.dataset.picked = "1";
    describePlace();
  }

  if (map) {
    map.on("click", function (e) {
      setPoint(e.latlng.lat, e.latlng.lng, "已在地图上选定位置");
    });
    if (ds.geojsonUrl) {
      fetch(ds.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) {
            throw new Error("HTTP " + r.status);
          }
          return r.json();
        })
        .then(function (collection) {
          var layer = L.geoJSON(collection, {
            style: { color: "#0b4f8a", weight: 1.5, fillColor: "#2f6fb0", fillOpacity: 0.15 },
            onEachFeature: function (feature, shape) {
              shape.bindTooltip(feature.properties.name, { sticky: true, className: "region-label" });
              shape.on("click", function (e) {
                setPoint(e.latlng.lat, e.latlng.lng, "已在地图上选定位置");
              });
            },
          }).addTo(map);
          if (layer.getBounds().isValid()) {
            map.fitBounds(layer.getBounds(), { padding: [12, 12] });
          }
          el.dataset.state = "ready";
        })
        .catch(function () {
          el.dataset.state = "error";
        });
    }
    var lon0 = parseFloat(lonInput.value);
    var lat0 = parseFloat(latInput.value);
    if (isFinite(lon0) && isFinite(lat0)) {
      setPoint(lat0, lon0, "已选位置");
    }
  }

  if (category) {
    category.addEventListener("change", describePlace);
  }

  if (gpsButton) {
    if (!("geolocation" in navigator)) {
      gpsButton.disabled = true;
      say("此浏览器不支持定位：请在地图上点选位置或选择所在网格。", "bad");
    }
    gpsButton.addEventListener("click", function () {
      say("正在获取位置…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPoint(pos.coords.latitude, pos.coords.longitude,
                 "已定位（精度约 " + Math.round(pos.coords.accuracy) + " 米）");
        if (map) {
          map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 15));
        }
      }, function () {
        say("未能获取位置（未授权或无信号）：请在地图上点选位置或选择所在网格。", "bad");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
})();
