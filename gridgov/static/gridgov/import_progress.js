// Polls an import job's status and updates the progress page until the job has finished.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box || box.dataset.finished === "1") return;
  var url = box.dataset.statusUrl;
  var delay = 1000;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function render(s) {
    text("job-status", s.status_label);
    text("job-count", s.total ? s.processed + " / " + s.total + " 行" : "");
    var bar = document.getElementById("job-progress");
    if (bar) { bar.value = s.percent; bar.textContent = s.percent + "%"; }
    text("job-percent", s.percent + "%");
    box.querySelectorAll("[data-count]").forEach(function (el) { el.textContent = s[el.dataset.count]; });
    text("job-message", s.message || "");
    if (s.report_url) {
      var link = document.getElementById("report-link");
      link.href = s.report_url;
      document.getElementById("job-report").hidden = false;
    }
    if (s.errors && s.errors.length) {
      var body = document.querySelector("#job-errors tbody");
      body.textContent = "";
      s.errors.forEach(function (e) {
        var tr = document.createElement("tr");
        [e.sheet, e.row, e.reasons.join("；")].forEach(function (v) {
          var td = document.createElement("td");
          td.textContent = v;
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      document.getElementById("job-errors").hidden = false;
    }
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        render(s);
        delay = 1000;
        if (!s.finished) setTimeout(poll, delay);
        else box.dataset.finished = "1";
      })
      .catch(function () {
        delay = Math.min(delay * 2, 15000);  // server busy or restarting: back off, keep trying
        setTimeout(poll, delay);
      });
  }

  setTimeout(poll, delay);
})();
