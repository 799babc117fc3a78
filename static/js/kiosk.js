// The kiosk screen: fetch a fresh QR every refresh_seconds; on a failed poll keep showing the last one.
(function () {
  "use strict";
  var root = document.getElementById("kiosk");
  if (!root) { return; }
  var img = document.getElementById("kiosk-qr");
  var present = document.getElementById("kiosk-present");
  var status = document.getElementById("kiosk-status");
  var refresh = parseInt(root.dataset.refreshSeconds, 10) || 20;
  var timer = null;

  function show(message) {
    status.textContent = message || "";
    status.hidden = !message;
  }

  function apply(state) {
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(state.svg);
    img.dataset.url = state.url;
    present.textContent = String(state.present);
    if (state.refresh_seconds) { refresh = state.refresh_seconds; }
    show("");
  }

  function poll() {
    fetch(root.dataset.stateUrl, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") === -1) {
          // a sign-in page instead of JSON: the session ended
          throw new Error(response.status === 200 || response.redirected ? "signed-out" : "http");
        }
        return response.json();
      })
      .then(apply)
      .catch(function (error) {
        show(error && error.message === "signed-out" ? root.dataset.msgSignedOut : root.dataset.msgOffline);
      })
      .then(schedule);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, refresh * 1000);
  }

  // a screen that slept (tablet lid, hidden tab) refreshes at once when shown again
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { poll(); }
  });

  var fullscreen = document.getElementById("kiosk-fullscreen");
  if (fullscreen && document.documentElement.requestFullscreen) {
    fullscreen.hidden = false;
    fullscreen.addEventListener("click", function () {
      document.documentElement.requestFullscreen().catch(function () {});
    });
  }
  schedule();
}());
