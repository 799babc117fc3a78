// The coordinator's scanner: volunteer cards read by the camera (BarcodeDetector, else the pinned jsQR) or typed.
// Every scan goes through the offline queue of scan-queue.js (ScanQueue, loaded first): written to localStorage with
// its client event id and original time, then sent, and kept (marked offline) until the server has answered for
// it. Each item carries the shift the page is for (the group check-in page, group.js, queues its scans there too,
// one item per person).
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) { return; }
  var d = root.dataset;
  var recent = [];

  var $ = function (id) { return document.getElementById(id); };
  var resultBox = $("scanner-result");

  // --- a scan: into the queue -------------------------------------------------------------------------------------

  function direction() {
    var checked = root.querySelector("input[name=direction]:checked");
    return checked ? checked.value : "auto";
  }

  function record(number) {
    queue.add([number], direction());
  }

  // --- what the coordinator sees -----------------------------------------------------------------------------------

  function show(message, kind) {
    resultBox.textContent = message;
    resultBox.className = "scan-result scan-result--" + kind;
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
    var items = window.ScanQueue.load();
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

  // --- the queue, the network and offline -------------------------------------------------------------------------

  var queue = window.ScanQueue.create({
    root: root, render: render, answered: done, markSending: true,
    offline: function (item) { if (!item.offline) { show(d.msgQueuedOffline, "queued"); } }
  });
  queue.start();
}());
