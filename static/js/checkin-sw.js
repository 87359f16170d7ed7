// The door page's service worker (served at /checkin/sw.js, scope /checkin/): door pages and
// their static files come from the network when there is one, else from the last copy kept, so a
// door keeps working through a dropped connection and even a reload. Nothing else is cached.
const CACHE = "door-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function keep(request) {
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return false;
  return /^\/checkin\/\d+\/$/.test(url.pathname) || url.pathname.startsWith("/static/");
}

self.addEventListener("fetch", (event) => {
  if (!keep(event.request)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request))
  );
});
