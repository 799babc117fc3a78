// The offline queue shared by the coordinator's scanner (scanner.js) and a shift's group check-in (group.js).
// Every scan is first written to a queue in localStorage with its client event id and original time, then sent;
// it leaves the queue only when the server has answered for it (accepted, replayed or refused). A network error
// keeps it, and every scan waiting behind it, marked offline for the next try: on the "online" event and every
// 15 seconds. Both pages use the same key and item shape, so a queue written by one page is sent by the other;
// a resent item keeps its event id, so the server answers with the first result and writes nothing new.
//
//   var queue = ScanQueue.create({root: element,             // data-csrf, -page-url, -scan-url, -activity, -shift,
//                                                            // -sw-url, -sw-scope, -login-url, -msg-sign-in
//                                 render: function () {},    // show the queue
//                                 answered: function (item, body, refused) {},
//                                 offline: function (item) {},   // optional: the network failed sending ``item``
//                                 markSending: false});      // optional: flag the item being sent (for render)
//   queue.add(["AB12-CD34-EF56"], "in");  ...  queue.start();
(function () {
  "use strict";
  var KEY = "vr-scanner-queue";
  var RETRY_MS = 15000;

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    // crypto.randomUUID needs a secure context; a scanner on plain http in a hall still needs unique ids
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

  function update(eventId, change) {
    var items = load();
    items.forEach(function (item) { if (item.event_id === eventId) { change(item); } });
    save(items);
  }

  function remove(eventId) {
    save(load().filter(function (item) { return item.event_id !== eventId; }));
  }

  function markOffline() { save(load().map(function (it) { it.offline = true; return it; })); }

  function create(opts) {
    var root = opts.root;
    var d = root.dataset;
    var csrf = d.csrf;
    var flushing = false;
    var flushAgain = false;   // a scan was recorded while a flush was running: it was not in that flush's list
    var net = document.getElementById("scanner-net");
    var resultBox = document.getElementById("scanner-result");
    var render = opts.render;

    // one item per volunteer number, all with the same time; then shown and sent
    function add(numbers, direction) {
      var items = load();
      var now = new Date().toISOString();
      numbers.forEach(function (number) {
        items.push({event_id: uuid(), url: d.scanUrl, activity: d.activity, shift: d.shift || null,
                    volunteer_number: number, direction: direction, scanned_at: now, offline: false});
      });
      save(items);
      render();
      flush();
    }

    function send(item) {
      return fetch(item.url, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
        body: JSON.stringify({event_id: item.event_id, volunteer_number: item.volunteer_number,
                              shift: item.shift || null, direction: item.direction, scanned_at: item.scanned_at,
                              offline: !!item.offline})
      }).then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          return {status: response.status, body: body};
        });
      });
    }

    // a page cached while signed in under another session carries a stale CSRF token: fetch the page for a new one
    function refreshToken() {
      return fetch(d.pageUrl, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("signed-out"); }
        return response.text();
      }).then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html").getElementById(root.id);
        if (!page || !page.dataset.csrf) { throw new Error("signed-out"); }
        csrf = page.dataset.csrf;
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

    function setOnline(online) {
      net.textContent = online ? net.dataset.online : net.dataset.offline;
      net.className = "net" + (online ? "" : " net--offline");
    }

    // one item: resolves "done" (answered, removed), "stop" (keep it and the rest for later)
    function deliver(item, triedToken) {
      return send(item).then(function (answer) {
        var body = answer.body || {};
        var error = body.error || {};
        if (answer.status === 400 && error.code === "bad_request" && !triedToken) {
          return refreshToken().then(function () { return deliver(item, true); },
                                     function () { signIn(); return "stop"; });
        }
        if (answer.status === 401) { signIn(); return "stop"; }
        if (answer.status === 429) { return "stop"; }   // too many at once: keep it and the rest, send them later
        if (answer.status >= 200 && answer.status < 300) {
          remove(item.event_id);
          opts.answered(item, body, false);
          return "done";
        }
        if (answer.status >= 400 && answer.status < 500 && answer.body) {
          remove(item.event_id);   // refused (and kept by the server): do not send it again
          opts.answered(item, body, true);
          return "done";
        }
        return "stop";             // 5xx, or not our JSON: try again later
      }, function () {
        // no network: this scan and every one waiting behind it (never tried, since the flush stops here) will be
        // sent from the queue, so the server keeps their original time and flags them offline
        markOffline();
        setOnline(false);
        if (opts.offline) { opts.offline(item); }
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
        if (opts.markSending) {
          update(item.event_id, function (it) { it.sending = true; });
          render();
        }
        return deliver(item).then(function (outcome) {
          if (opts.markSending) { update(item.event_id, function (it) { delete it.sending; }); }
          if (outcome === "done") { setOnline(true); return next(i + 1); }
          stopped = true;
          // not delivered now (signed out, a server error): whatever is left goes later, from the queue, with the
          // time it was scanned; the server keeps that time and flags the sessions for review
          markOffline();
        });
      };
      next(0).catch(function () { stopped = true; }).then(function () {
        flushing = false;
        if (opts.markSending) { save(load().map(function (it) { delete it.sending; return it; })); }
        render();
        if (flushAgain && !stopped) { flush(); }   // send what was scanned meanwhile now, not at the next retry
      });
    }

    // network events, the retry timer, the service worker; then the first render and flush
    function start() {
      window.addEventListener("online", function () { setOnline(true); flush(); });
      window.addEventListener("offline", function () { setOnline(false); });
      window.addEventListener("storage", function (event) { if (event.key === KEY) { render(); } });
      setInterval(flush, RETRY_MS);
      setOnline(navigator.onLine !== false);

      if ("serviceWorker" in navigator) {
        navigator.serviceWorker.register(d.swUrl, {scope: d.swScope}).then(function () {
          return navigator.serviceWorker.ready;
        }).then(function (registration) {
          // the first visit happened before the worker was in control: have it cache this page now
          if (registration.active) { registration.active.postMessage({cache: d.pageUrl}); }
        }).catch(function () {});
      }

      render();
      flush();
    }

    return {add: add, flush: flush, start: start, setOnline: setOnline};
  }

  window.ScanQueue = {KEY: KEY, RETRY_MS: RETRY_MS, uuid: uuid, load: load, save: save, update: update, remove: remove,
                      create: create};
}());
