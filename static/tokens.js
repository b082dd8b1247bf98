// The account page's new API token: the Copy button puts it on the
// clipboard (or selects it where the clipboard is not allowed).
(function () {
  "use strict";
  var button = document.getElementById("copy-token");
  if (!button) return;
  var code = document.getElementById(button.getAttribute("data-copy"));
  var done = document.getElementById("copy-done");
  function select() {
    var range = document.createRange();
    range.selectNodeContents(code);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  button.addEventListener("click", function () {
    var text = code.textContent;
    var shown = function () { done.hidden = false; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(shown, select);
    } else {
      select();
    }
  });
})();
