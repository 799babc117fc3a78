// Service worker of the coordinator's scanner (served at /scanner-sw.js, scope /activities/): the scanner page and
// its files come from the cache when there is no network. Scans themselves are never cached or replayed here: the
// page keeps its own queue (scan-queue.js) and sends it when the network returns.
"use strict";
var CACHE = "vr-scanner-v3";
var ASSETS = ["/static/css/app.css", "/static/js/scan-queue.js", "/static/js/scanner.js", "/static/js/group.js",
              "/static/vendor/jsqr/jsQR.js", "/static/favicon.svg"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return key.indexOf("vr-scanner-") === 0 && key !== CACHE; })
      .map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function sameOrigin(url) { return url.origin === self.location.origin; }
// the scanner and a shift's group check-in page (which queues its scans in the same queue)
function isScannerPage(url) {
  return sameOrigin(url) && /^\/activities\/[^/]+\/(scanner(\.webmanifest)?|shifts\/[0-9]+\/group)$/.test(url.pathname);
}

// stores a good answer under ``path``; resolves to the response once it is stored (the worker may be stopped as
// soon as the event's promises settle, so the write is part of them)
function keep(path, response) {
  if (response && response.ok && !response.redirected && response.type === "basic") {
    var copy = response.clone();
    return caches.open(CACHE).then(function (cache) { return cache.put(path, copy); })
      .then(function () { return response; }, function () { return response; });
  }
  return Promise.resolve(response);
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (typeof data.cache !== "string") { return; }
  var url = new URL(data.cache, self.location.href);
  if (!isScannerPage(url)) { return; }
  event.waitUntil(fetch(url.href, {credentials: "same-origin"}).then(function (response) {
    return keep(url.pathname, response);
  }).catch(function () {}));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (isScannerPage(url)) {
    // network first (fresh CSRF token, fresh count), the cached copy when offline
    event.respondWith(fetch(request).then(function (response) { return keep(url.pathname, response); })
      .catch(function () {
        return caches.match(url.pathname).then(function (hit) { return hit || Response.error(); });
      }));
    return;
  }
  if (sameOrigin(url) && ASSETS.indexOf(url.pathname) !== -1) {
    // the cached file at once; refreshed in the background for next time
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname).then(function (hit) {
        var fresh = fetch(request).then(function (response) {
          if (!response.ok) { return response; }
          return cache.put(url.pathname, response.clone()).then(function () { return response; });
        });
        if (hit) { event.waitUntil(fresh.catch(function () {})); return hit; }
        return fresh;
      });
    }));
  }
});
