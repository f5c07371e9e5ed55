// 附上当前位置: fills the hidden lon/lat fields from the browser's geolocation (WGS84).
(function () {
  "use strict";
  var button = document.getElementById("locate-button");
  var status = document.getElementById("locate-status");
  if (!button || !navigator.geolocation) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("id_lon").value = pos.coords.longitude.toFixed(6);
      document.getElementById("id_lat").value = pos.coords.latitude.toFixed(6);
      status.textContent = "已附位置 " + pos.coords.longitude.toFixed(5) + ", " + pos.coords.latitude.toFixed(5);
    }, function () { status.textContent = "无法获取位置，可不附位置直接上报"; }, {timeout: 10000});
  });
})();
