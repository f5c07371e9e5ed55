/* The live player: hls.js (vendored) plays /hls/t/<token>/<camera>.m3u8; Safari plays HLS natively.
 * The media server stops serving when the token or the grant lapses; the page then says so.
 * Leaving the page ends the view (sendBeacon cannot carry the CSRF header, so fetch keepalive). */
(function () {
  "use strict";

  var video = document.getElementById("player");
  if (!video) {
    return;
  }
  var state = document.getElementById("player-state");
  var url = video.dataset.hlsUrl;
  var stopped = false;

  function say(text) {
    if (state) {
      state.textContent = text;
    }
  }

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    fetch(video.dataset.stopUrl, {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "X-CSRFToken": csrf(), "X-Requested-With": "fetch" },
    }).catch(function () {});
  }

  video.addEventListener("playing", function () { say("正在播放"); });
  window.addEventListener("pagehide", stop);

  if (window.Hls && window.Hls.isSupported()) {
    var hls = new window.Hls({ liveDurationInfinity: true, manifestLoadingMaxRetry: 6 });
    hls.on(window.Hls.Events.ERROR, function (event, data) {
      if (!data.fatal) {
        return;
      }
      var code = data.response && data.response.code;
      hls.destroy();
      say(code === 403 ? "播放已停止：令牌已过期或授权已失效。如需继续查看，请重新申请。"
                       : "无法播放：摄像机可能离线，请稍后重试。");
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
  } else {
    say("此浏览器不支持 HLS 播放。");
  }
})();
