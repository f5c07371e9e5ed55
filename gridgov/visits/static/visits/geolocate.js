// Fills the visit form's position from the browser's geolocation (WGS84), if the user allows it.
// Without it the visit is still saved, marked 无定位.
(function () {
  var form = document.querySelector("form.visit-form");
  if (!form) return;
  var status = document.getElementById("gps-status");
  function say(text, cls) {
    if (!status) return;
    status.textContent = text;
    status.className = "gps-status " + (cls || "");
  }
  if (!("geolocation" in navigator)) {
    say("此浏览器不支持定位，将按无定位保存。", "bad");
    return;
  }
  say("正在获取位置…");
  navigator.geolocation.getCurrentPosition(function (pos) {
    form.elements["lon"].value = pos.coords.longitude.toFixed(7);
    form.elements["lat"].value = pos.coords.latitude.toFixed(7);
    form.elements["accuracy_m"].value = Math.round(pos.coords.accuracy);
    say("已定位（精度约 " + Math.round(pos.coords.accuracy) + " 米）", "ok");
  }, function () {
    say("未能获取位置（未授权或无信号），将按无定位保存。", "bad");
  }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
})();
