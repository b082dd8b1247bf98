// The roster form: a chosen CSV file is read into the text box, so the
// list is checked (and fixed) as text before anything is imported.
(function () {
  "use strict";
  var file = document.getElementById("roster-file");
  var text = document.getElementById("roster-csv");
  if (!file || !text) return;
  file.addEventListener("change", function () {
    var f = file.files && file.files[0];
    if (!f) return;
    var reader = new FileReader();
    reader.onload = function () { text.value = String(reader.result); };
    reader.onerror = function () { text.value = ""; alert("The file could not be read."); };
    reader.readAsText(f, "utf-8");
  });
})();
