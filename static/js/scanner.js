// The coordinator's scanner: volunteer cards read by the camera (BarcodeDetector, else the pinned jsQR) or typed.
// Every scan is first written to a queue in localStorage with its client event id and original time, then sent;
// it leaves the queue only when the server has answered for it (accepted, replayed or refused). A network error
// keeps it, and every scan waiting behind it, marked offline for the next try: on the "online" event and every
// 15 seconds. Each item carries the shift the page is for (the group check-in page, group.js, queues its scans here
// too, one item per person).
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) { return; }
  var d = root.dataset;
  var KEY = "vr-scanner-queue";
  var RETRY_MS = 15000;
  var csrf = d.csrf;
  var flushing = false;
  var flushAgain = false;   // a scan was recorded while a flush was running: it was not in that flush's list
  var recent = [];

  var $ = function (id) { return document.getElementById(id); };
  var resultBox = $("scanner-result");
  var net = $("scanner-net");

  // --- the queue ---------------------------------------------------------------------------------------------------

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

  function direction() {
    var checked = root.querySelector("input[name=direction]:checked");
    return checked ? checked.value : "auto";
  }

  function record(number) {
    var items = load();
    items.push({event_id: uuid(), url: d.scanUrl, activity: d.activity, shift: d.shift || null, volunteer_number: number,
                direction: direction(), scanned_at: new Date().toISOString(), offline: false});
    save(items);
    render();
    flush();
  }

  // --- sending -----------------------------------------------------------------------------------------------------

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

  // a page cached while signed in under another session carries a stale CSRF token: fetch the page for a new one
  function refreshToken() {
    return fetch(d.pageUrl, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (!response.ok || response.redirected) { throw new Error("signed-out"); }
      return response.text();
    }).then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html").getElementById("scanner");
      if (!page || !page.dataset.csrf) { throw new Error("signed-out"); }
      csrf = page.dataset.csrf;
    });
  }

  // one item: resolves "done" (answered, removed), "stop" (keep it and the rest for later)
  function deliver(item, triedToken) {
    return send(item).then(function (answer) {
      var body = answer.body || {};
      var error = body.error || {};
      if (answer.status === 400 && error.code === "bad_request" && !triedToken) {
        return refreshToken().then(function () { return deliver(item, true); },
                                   function () { showSignIn(); return "stop"; });
      }
      if (answer.status === 401) { showSignIn(); return "stop"; }
      if (answer.status === 429) { return "stop"; }   // too many at once: keep it and the rest, send them later
      if (answer.status >= 200 && answer.status < 300) {
        remove(item.event_id);
        done(item, body, false);
        return "done";
      }
      if (answer.status >= 400 && answer.status < 500 && answer.body) {
        remove(item.event_id);   // refused (and kept by the server): do not send it again
        done(item, body, true);
        return "done";
      }
      return "stop";             // 5xx, or not our JSON: try again later
    }, function () {
      // no network: this scan and every one waiting behind it (never tried, since the flush stops here) will be
      // sent from the queue, so the server keeps their original time and flags them offline
      save(load().map(function (it) { it.offline = true; return it; }));
      setOnline(false);
      if (!item.offline) { show(d.msgQueuedOffline, "queued"); }
      return "stop";
    });
  }

  function flush() {
    if (flushing) { flushAgain = true; return; }
    var items = load();
    if (!items.length) { render(); return; }
    flushing = true;
    flushAgain = false;
    var stopped = false;
    var ids = items.map(function (item) { return item.event_id; });
    var next = function (i) {
      if (i >= ids.length) { return Promise.resolve(); }
      var item = load().filter(function (it) { return it.event_id === ids[i]; })[0];
      if (!item) { return next(i + 1); }
      update(item.event_id, function (it) { it.sending = true; });
      render();
      return deliver(item).then(function (outcome) {
        update(item.event_id, function (it) { delete it.sending; });
        if (outcome === "done") { setOnline(true); return next(i + 1); }
        stopped = true;
        // not delivered now (signed out, a server error): whatever is left goes later, from the queue, with the
        // time it was scanned; the server keeps that time and flags the sessions for review
        save(load().map(function (it) { it.offline = true; return it; }));
      });
    };
    next(0).catch(function () { stopped = true; }).then(function () {
      flushing = false;
      save(load().map(function (it) { delete it.sending; return it; }));
      render();
      if (flushAgain && !stopped) { flush(); }   // send what was scanned meanwhile now, not at the next retry
    });
  }

  // --- what the coordinator sees -----------------------------------------------------------------------------------

  function show(message, kind) {
    resultBox.textContent = message;
    resultBox.className = "scan-result scan-result--" + kind;
    resultBox.hidden = false;
  }

  function showSignIn() {
    resultBox.className = "scan-result scan-result--refused";
    resultBox.textContent = d.msgSignIn + " ";
    var link = document.createElement("a");
    link.href = d.loginUrl;
    link.textContent = "→";
    resultBox.appendChild(link);
    resultBox.hidden = false;
  }

  function done(item, body, refused) {
    var message = body.message || (body.error && body.error.message) || "";
    var kind = refused ? "refused" : "accepted";
    if (refused) { message = d.msgRefused + ": " + message; }
    show(message, kind);
    if (typeof body.present === "number") { $("scanner-present").textContent = String(body.present); }
    recent.unshift({time: item.scanned_at, text: message, kind: kind, offline: !!item.offline});
    recent = recent.slice(0, 30);
  }

  function timeOf(iso) {
    var t = new Date(iso);
    return isNaN(t) ? iso : t.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }

  function li(parts, kind) {
    var el = document.createElement("li");
    el.className = "scan-list__item scan-list__item--" + kind;
    parts.forEach(function (part, i) {
      var span = document.createElement("span");
      span.textContent = part;
      if (i === 0) { span.className = "scan-list__time"; }
      el.appendChild(span);
    });
    return el;
  }

  function render() {
    var items = load();
    var list = $("queue-list");
    list.textContent = "";
    items.forEach(function (item) {
      var dir = {"in": d.msgIn, "out": d.msgOut, "auto": d.msgAuto}[item.direction] || item.direction;
      var where = item.activity && item.activity !== d.activity ? " · " + item.activity : "";
      list.appendChild(li([timeOf(item.scanned_at), item.volunteer_number + " (" + dir + ")" + where,
                           item.sending ? d.msgSending : d.msgQueued], "queued"));
    });
    $("queue-count").textContent = String(items.length);
    var done = $("recent-list");
    done.textContent = "";
    recent.forEach(function (r) { done.appendChild(li([timeOf(r.time), r.text], r.kind)); });
  }

  function setOnline(online) {
    net.textContent = online ? net.dataset.online : net.dataset.offline;
    net.className = "net" + (online ? "" : " net--offline");
  }

  // --- typed numbers -----------------------------------------------------------------------------------------------

  $("typed-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("typed-number");
    var number = input.value.trim();
    if (!number) { input.focus(); return; }
    input.value = "";
    record(number);
    input.focus();
  });

  // --- the camera --------------------------------------------------------------------------------------------------

  var video = $("camera-video");
  var frame = $("camera-frame");
  var cameraMessage = $("camera-message");
  var startButton = $("camera-start");
  var stopButton = $("camera-stop");
  var canvas = document.createElement("canvas");
  var stream = null;
  var detector = null;
  var lastText = "";
  var lastAt = 0;

  function cameraNote(message) {
    cameraMessage.textContent = message || "";
    cameraMessage.hidden = !message;
  }

  function loadJsQR() {
    if (window.jsQR) { return Promise.resolve(); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = d.jsqrUrl;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function prepareDecoder() {
    if ("BarcodeDetector" in window) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") !== -1) {
          detector = new window.BarcodeDetector({formats: ["qr_code"]});
          return null;
        }
        return loadJsQR();
      }, loadJsQR);
    }
    return loadJsQR();
  }

  // a volunteer card holds the volunteer number and nothing else
  function numberIn(text) {
    var m = /^\s*([0-9A-Z]{4})[\s-]?([0-9A-Z]{4})[\s-]?([0-9A-Z]{4})\s*$/.exec((text || "").toUpperCase());
    return m ? m[1] + "-" + m[2] + "-" + m[3] : null;
  }

  function found(text) {
    var now = Date.now();
    if (text === lastText && now - lastAt < 4000) { return; }  // the same card held up: one scan
    lastText = text;
    lastAt = now;
    var number = numberIn(text);
    if (!number) { show(d.msgNotCard, "refused"); return; }
    if (navigator.vibrate) { navigator.vibrate(80); }
    record(number);
  }

  function decodeFrame() {
    if (detector) {
      return detector.detect(video).then(function (codes) {
        if (codes.length) { found(codes[0].rawValue); }
      });
    }
    var w = video.videoWidth;
    var h = video.videoHeight;
    if (!w || !h || !window.jsQR) { return Promise.resolve(); }
    var scale = Math.min(1, 640 / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    var ctx = canvas.getContext("2d", {willReadFrequently: true});
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
    var code = window.jsQR(image.data, image.width, image.height, {inversionAttempts: "dontInvert"});
    if (code && code.data) { found(code.data); }
    return Promise.resolve();
  }

  function loop() {
    if (!stream) { return; }
    decodeFrame().catch(function () {}).then(function () { setTimeout(loop, 200); });
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { cameraNote(d.msgNoCamera); return; }
    cameraNote("");
    prepareDecoder().then(function () {
      return navigator.mediaDevices.getUserMedia({video: {facingMode: {ideal: "environment"}}, audio: false});
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      return video.play();
    }).then(function () {
      frame.hidden = false;
      startButton.hidden = true;
      stopButton.hidden = false;
      loop();
    }).catch(function () {
      stopCamera();
      cameraNote(d.msgCameraBlocked);
    });
  }

  function stopCamera() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    video.srcObject = null;
    frame.hidden = true;
    startButton.hidden = false;
    stopButton.hidden = true;
  }

  startButton.addEventListener("click", startCamera);
  stopButton.addEventListener("click", stopCamera);
  document.addEventListener("visibilitychange", function () { if (document.hidden) { stopCamera(); } });

  // --- network and offline -----------------------------------------------------------------------------------------

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
}());
