/* 网格通 service worker, release {{ version }}.
   The app shell is precached; pages are network-first with the cached shell as the fallback, so the
   app opens with no signal. The worker's grid data and the outbox live in IndexedDB (app.js), not here:
   API calls always go to the network, and the app decides what to do when they fail. */
const CACHE = "gridgov-m-{{ version }}";
const SHELL = "{% url 'mobile:shell' %}";
const PRECACHE = [SHELL, "{% url 'mobile:manifest' %}", "{{ assets.app_css }}", "{{ assets.app_js }}",
                  "{{ assets.icon_192_png }}", "{{ assets.icon_512_png }}"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("gridgov-m-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (req.mode === "navigate" && url.pathname.startsWith(SHELL)) {
    event.respondWith(fetch(req).then((res) => {
      // Keep the freshest shell, but never cache a redirect to the login page as the app.
      if (res.ok && !res.redirected && url.pathname === SHELL) {
        const copy = res.clone();
        caches.open(CACHE).then((c) => c.put(SHELL, copy));
      }
      return res;
    }).catch(() => caches.match(SHELL)));
    return;
  }
  event.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
});
