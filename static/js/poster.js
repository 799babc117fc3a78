// The page a service point's poster opens: before the tap is sent, ask the browser for the phone's location and
// put it in the form. Without it the server refuses the scan (location_required), so say why here first.
(function () {
  "use strict";
  var form = document.getElementById("poster-form");
  if (!form) { return; }
  var status = document.getElementById("poster-status");
  var latitude = form.querySelector("input[name=latitude]");
  var longitude = form.querySelector("input[name=longitude]");
  var button = form.querySelector("button[type=submit]");
  var sending = false;

  function show(message) {
    status.textContent = message || "";
    status.hidden = !message;
  }

  form.addEventListener("submit", function (event) {
    if (sending) { return; }
    event.preventDefault();
    if (!navigator.geolocation) {
      show(form.dataset.unsupported);
      return;
    }
    button.disabled = true;
    show(form.dataset.locating);
    navigator.geolocation.getCurrentPosition(function (position) {
      latitude.value = String(position.coords.latitude);
      longitude.value = String(position.coords.longitude);
      sending = true;
      form.submit();
    }, function () {
      button.disabled = false;
      show(form.dataset.denied);
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
  });
}());
