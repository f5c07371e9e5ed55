// The compose page's small rich-text editor: a contenteditable mirror of the body textarea. Without
// JavaScript the textarea itself is used; the server sanitises whatever arrives either way.
(function () {
  "use strict";
  var area = document.querySelector("textarea[data-rich]");
  if (!area) return;
  var editor = document.querySelector(".rich-editor");
  var toolbar = document.querySelector(".rich-toolbar");
  if (!editor || !toolbar || typeof document.execCommand !== "function") return;
  editor.innerHTML = area.value;
  area.hidden = true;
  editor.hidden = false;
  toolbar.hidden = false;
  toolbar.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-cmd]");
    if (!button) return;
    editor.focus();
    document.execCommand(button.dataset.cmd, false, button.dataset.arg || null);
  });
  var sync = function () { area.value = editor.innerHTML; };
  editor.addEventListener("input", sync);
  area.form.addEventListener("submit", sync);
  // the deadline only matters when acknowledgement is asked for
  var ack = document.getElementById("id_requires_ack");
  var deadline = document.getElementById("field-ack_deadline");
  if (ack && deadline) {
    var toggle = function () { deadline.hidden = !ack.checked; };
    ack.addEventListener("change", toggle);
    toggle();
  }
})();
