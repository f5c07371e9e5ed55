// Resident self-service: fill the report form's position from the phone's GPS (WGS84), on request.
(function () {
  "use strict";
  var button = document.querySelector("[data-locate]");
  if (!button) { return; }
  var status = document.getElementById("locate-status");
  if (!("geolocation" in navigator)) { button.hidden = true; return; }
  button.addEventListener("click", function () {
    status.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("lon").value = pos.coords.longitude.toFixed(6);
      document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
      status.textContent = "已获取当前位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
    }, function () {
      status.textContent = "无法获取位置，将按您登记的网格处理";
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
}());
