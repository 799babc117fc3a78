// Group check-in of a shift: every selected person becomes one scan with its own event id (made once per person
// per action), written to the scanner's offline queue (scan-queue.js, loaded first: same localStorage key and item
// shape as scanner.js, with the shift) and sent to the scans endpoint. An item leaves the queue only when the server
// has answered for it; without network it waits, marked offline, and is sent on the "online" event and every 15
// seconds, by this page or the scanner's. A resent item keeps its event id, so the server answers with the first
// result and writes nothing new.
(function () {
  "use strict";
  var root = document.getElementById("group");
  if (!root) { return; }
  var d = root.dataset;
  var $ = function (id) { return document.getElementById(id); };
  var resultBox = $("scanner-result");

  function rowOf(number) {
    var rows = root.querySelectorAll("#group-list li");
    for (var i = 0; i < rows.length; i++) { if (rows[i].dataset.number === number) { return rows[i]; } }
    return null;
  }

  function outcome(number, text, kind) {
    var row = rowOf(number);
    if (!row) { return; }
    var el = row.querySelector("[data-role=outcome]");
    el.textContent = text;
    row.className = "scan-list__item" + (kind ? " scan-list__item--" + kind : "");
  }

  function show(message, kind) {
    resultBox.textContent = message;
    resultBox.className = "scan-result scan-result--" + kind;
    resultBox.hidden = !message;
  }

  function boxes() { return Array.prototype.slice.call(root.querySelectorAll("input[name=volunteer]")); }

  function tick(checked) { boxes().forEach(function (box) { box.checked = checked; }); }

  function record(direction) {
    var numbers = boxes().filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
    if (!numbers.length) { show(d.msgNone, "refused"); return; }
    show("", "accepted");
    numbers.forEach(function (number) { outcome(number, d.msgSending, "queued"); });
    tick(false);
    queue.add(numbers, direction);
  }

  function answered(item, body, refused) {
    var message = body.message || (body.error && body.error.message) || "";
    if (refused) { message = d.msgRefused + ": " + message; }
    outcome(item.volunteer_number, message, refused ? "refused" : "");
    var row = rowOf(item.volunteer_number);
    if (row && !refused && (body.result === "in" || body.result === "out")) {
      var state = row.querySelector("[data-role=state]");
      state.textContent = body.result === "in" ? d.msgPresent : d.msgLeft;
      state.className = "badge" + (body.result === "in" ? " badge--active" : "");
    }
  }

  function render() {
    var items = window.ScanQueue.load();
    $("queue-count").textContent = String(items.length);
    items.forEach(function (item) {
      if (item.activity === d.activity && String(item.shift) === d.shift) {
        outcome(item.volunteer_number, d.msgQueued, "queued");
      }
    });
  }

  var queue = window.ScanQueue.create({root: root, render: render, answered: answered});

  var all = $("group-all");
  if (all) {
    all.addEventListener("click", function () { tick(true); });
    $("group-clear").addEventListener("click", function () { tick(false); });
    $("group-in").addEventListener("click", function () { record("in"); });
    $("group-out").addEventListener("click", function () { record("out"); });
  }

  queue.start();
}());
