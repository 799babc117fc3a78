// The approval page: a box that checks every waiting entry on the page. Without it (no script) each entry is
// checked by hand; inline handlers are forbidden by the Content-Security-Policy.
(function () {
  "use strict";
  var all = document.getElementById("check-all");
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[type="checkbox"][name="entries"][form="decide"]'));
  if (!all || !boxes.length) { return; }

  function sync() {
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }

  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
  all.closest(".decide__all").hidden = false;
}());
