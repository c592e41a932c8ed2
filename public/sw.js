// Daohu service worker: keeps the built app shell in a versioned cache so the
// app opens with no network. The version is written in at build time (see
// Trunk.toml), so every new build installs as a new worker that waits until
// the page asks it to take over. Local data is never touched here: it lives in
// the page's storage, not in this cache.
const VERSION = '__DAOHU_BUILD__';
const CACHE = 'daohu-shell-' + VERSION;
const SHELLS = ['/index.html', '/activities/index.html', '/account/index.html'];
const STATIC = ['/', '/index.html', '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Three shells: the visit app, the volunteer activities and signing in and
    // out (each a bundle of its own).
    const assets = new Set();
    for (const page of SHELLS) {
      const res = await fetch(page, { cache: 'no-store' });
      // The activities bundle may be missing from a partial build; the visit app is not.
      if (!res.ok && page !== '/index.html') continue;
      const html = await res.clone().text();
      // The files the page loads: wasm, js glue, css (hashed), and register-sw.js;
      // quoted or not (release builds minify the HTML: href=/main-….css).
      const re = /["'=](\/[^"'?#\s>]+\.(?:js|wasm|css))/g;
      let m;
      while ((m = re.exec(html)) !== null) assets.add(m[1]);
      await cache.put(page, res);
    }
    await cache.addAll([...assets, ...STATIC.filter((u) => u !== '/index.html' && u !== '/')]);
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('daohu-shell-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  // The API always goes to the network: the app handles being offline itself.
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/') || url.pathname === '/healthz') return;
  // The coordinators' console (/admin) and the password page are online-only and not part of the phone's shell.
  if (url.pathname === '/admin' || url.pathname.startsWith('/admin/') || url.pathname.startsWith('/password.')) return;
  if (req.mode === 'navigate') {
    event.respondWith((async () => {
      // The same paths as the server's BUNDLE_PATHS (crates/server/src/static_files.rs).
      const first = url.pathname.split('/')[1];
      const shell = first === 'activities' ? '/activities/index.html'
        : ['login', 'enroll', 'account'].includes(first) ? '/account/index.html' : '/index.html';
      const cached = await caches.match(shell, { cacheName: CACHE });
      return cached || fetch(req);
    })());
    return;
  }
  event.respondWith((async () => {
    const cached = await caches.match(req, { cacheName: CACHE });
    return cached || fetch(req);
  })());
});
