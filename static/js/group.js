// Group check-in of a shift: every selected person becomes one scan with its own event id (made here, once per
// person per action), written first to the scanner's queue in localStorage (same key and item shape as
// scanner.js, with the shift) and then sent to the scans endpoint. An item leaves the queue only when the server
// has answered for it; without network it waits, marked offline, and is sent on the "online" event and every 15
// seconds, by this page or the scanner's. A resent item keeps its event id, so the server answers with the first
// result and writes nothing new.
(function () {
  "use strict";
  var root = document.getElementById("group");
  if (!root) { return; }
  var d = root.dataset;
  var KEY = "vr-scanner-queue";
  var RETRY_MS = 15000;
  var csrf = d.csrf;
  var flushing = false;
  var flushAgain = false;
  var $ = function (id) { return document.getElementById(id); };
  var net = $("scanner-net");
  var resultBox = $("scanner-result");

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function load() {
    try {
      var items = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) { return []; }
  }
  function save(items) { localStorage.setItem(KEY, JSON.stringify(items)); }
  function remove(eventId) { save(load().filter(function (item) { return item.event_id !== eventId; })); }

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

  function selected() {
    return Array.prototype.filter.call(root.querySelectorAll("input[name=volunteer]"), function (box) {
      return box.checked;
    }).map(function (box) { return box.value; });
  }

  function record(direction) {
    var numbers = selected();
    if (!numbers.length) { show(d.msgNone, "refused"); return; }
    show("", "accepted");
    var items = load();
    var now = new Date().toISOString();
    numbers.forEach(function (number) {
      items.push({event_id: uuid(), url: d.scanUrl, activity: d.activity, shift: d.shift, volunteer_number: number,
                  direction: direction, scanned_at: now, offline: false});
      outcome(number, d.msgSending, "queued");
    });
    save(items);
    Array.prototype.forEach.call(root.querySelectorAll("input[name=volunteer]"), function (box) {
      box.checked = false;
    });
    render();
    flush();
  }

  function send(item) {
    return fetch(item.url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({event_id: item.event_id, volunteer_number: item.volunteer_number, shift: item.shift || null,
                            direction: item.direction, scanned_at: item.scanned_at, offline: !!item.offline})
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        return {status: response.status, body: body};
      });
    });
  }

  function refreshToken() {
    return fetch(d.pageUrl, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (!response.ok || response.redirected) { throw new Error("signed-out"); }
      return response.text();
    }).then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html").getElementById("group");
      if (!page || !page.dataset.csrf) { throw new Error("signed-out"); }
      csrf = page.dataset.csrf;
    });
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

  function deliver(item, triedToken) {
    return send(item).then(function (answer) {
      var body = answer.body || {};
      var error = body.error || {};
      if (answer.status === 400 && error.code === "bad_request" && !triedToken) {
        return refreshToken().then(function () { return deliver(item, true); }, function () { signIn(); return "stop"; });
      }
      if (answer.status === 401) { signIn(); return "stop"; }
      if (answer.status === 429) { return "stop"; }
      if (answer.status >= 200 && answer.status < 300) { remove(item.event_id); answered(item, body, false); return "done"; }
      if (answer.status >= 400 && answer.status < 500 && answer.body) {
        remove(item.event_id);   // refused, and kept by the server: not sent again
        answered(item, body, true);
        return "done";
      }
      return "stop";
    }, function () {
      save(load().map(function (it) { it.offline = true; return it; }));
      setOnline(false);
      return "stop";
    });
  }

  function flush() {
    if (flushing) { flushAgain = true; return; }
    var ids = load().map(function (item) { return item.event_id; });
    if (!ids.length) { render(); return; }
    flushing = true;
    flushAgain = false;
    var stopped = false;
    var next = function (i) {
      if (i >= ids.length) { return Promise.resolve(); }
      var item = load().filter(function (it) { return it.event_id === ids[i]; })[0];
      if (!item) { return next(i + 1); }
      return deliver(item).then(function (result) {
        if (result === "done") { setOnline(true); return next(i + 1); }
        stopped = true;
        save(load().map(function (it) { it.offline = true; return it; }));
      });
    };
    next(0).catch(function () { stopped = true; }).then(function () {
      flushing = false;
      render();
      if (flushAgain && !stopped) { flush(); }
    });
  }

  function signIn() {
    resultBox.className = "scan-result scan-result--refused";
    resultBox.textContent = d.msgSignIn + " ";
    var link = document.createElement("a");
    link.href = d.loginUrl;
    link.textContent = "→";
    resultBox.appendChild(link);
    resultBox.hidden = false;
  }

  function render() {
    var items = load();
    $("queue-count").textContent = String(items.length);
    items.forEach(function (item) {
      if (item.activity === d.activity && String(item.shift) === d.shift) {
        outcome(item.volunteer_number, d.msgQueued, "queued");
      }
    });
  }

  function setOnline(online) {
    net.textContent = online ? net.dataset.online : net.dataset.offline;
    net.className = "net" + (online ? "" : " net--offline");
  }

  var all = $("group-all");
  if (all) {
    all.addEventListener("click", function () {
      Array.prototype.forEach.call(root.querySelectorAll("input[name=volunteer]"), function (box) { box.checked = true; });
    });
    $("group-clear").addEventListener("click", function () {
      Array.prototype.forEach.call(root.querySelectorAll("input[name=volunteer]"), function (box) { box.checked = false; });
    });
    $("group-in").addEventListener("click", function () { record("in"); });
    $("group-out").addEventListener("click", function () { record("out"); });
  }

  window.addEventListener("online", function () { setOnline(true); flush(); });
  window.addEventListener("offline", function () { setOnline(false); });
  window.addEventListener("storage", function (event) { if (event.key === KEY) { render(); } });
  setInterval(flush, RETRY_MS);
  setOnline(navigator.onLine !== false);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(d.swUrl, {scope: d.swScope}).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (registration.active) { registration.active.postMessage({cache: d.pageUrl}); }
    }).catch(function () {});
  }

  render();
  flush();
}());
