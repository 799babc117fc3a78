// The volunteer card page: a print button (inline handlers are forbidden by the Content-Security-Policy).
(function () {
  "use strict";
  var button = document.getElementById("print-card");
  if (!button || !window.print) { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
}());
