// Keeps the caregiver's visit page and its assets readable without signal: network first, cache as fallback.
// Only same-origin GETs are handled; anything else goes to the network untouched. A request that has a
// cached copy falls back to it when the network has not answered within a few seconds (a weak signal
// must not leave the caregiver staring at a blank page); one without a copy waits for the network as usual.
var CACHE = "yiyang-visits-v2";
var PATIENCE_MS = 6000;
self.addEventListener("install", function (event) { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});
self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return; // actions go through the page's own queue
  if (new URL(request.url).origin !== self.location.origin) return;
  var network = fetch(request);
  // Store a copy for offline use; cloned here, before the page reads the body.
  event.waitUntil(
    network.then(function (response) {
      if (!response.ok || response.type !== "basic") return undefined;
      var copy = response.clone();
      return caches.open(CACHE).then(function (cache) { return cache.put(request, copy); });
    }).catch(function () {})
  );
  event.respondWith(
    caches.match(request).then(function (cached) {
      if (!cached) return network;
      var slow = new Promise(function (resolve) { setTimeout(function () { resolve(cached); }, PATIENCE_MS); });
      return Promise.race([network.catch(function () { return cached; }), slow]);
    })
  );
});
