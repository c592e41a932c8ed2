// Registers the service worker, shared by the visit app and the activities
// bundle (both pages load it before their wasm).
// The service worker keeps the app openable with no signal. A new version
// waits until the member taps "reload", so nothing changes mid-visit.
if ('serviceWorker' in navigator) {
  window.daohuApplyUpdate = function () {
    navigator.serviceWorker.getRegistration().then(function (reg) {
      window.__daohuApplying = true;
      if (reg && reg.waiting) { reg.waiting.postMessage('skip-waiting'); } else { location.reload(); }
    });
  };
  navigator.serviceWorker.addEventListener('controllerchange', function () {
    if (window.__daohuApplying) { window.__daohuApplying = false; location.reload(); }
  });
  window.addEventListener('load', function () {
    navigator.serviceWorker.register('/sw.js').then(function (reg) {
      var notify = function () { window.__daohuUpdate = true; window.dispatchEvent(new Event('daohu-update')); };
      if (reg.waiting && navigator.serviceWorker.controller) { notify(); }
      reg.addEventListener('updatefound', function () {
        var w = reg.installing;
        if (w) { w.addEventListener('statechange', function () {
          if (w.state === 'installed' && navigator.serviceWorker.controller) { notify(); }
        }); }
      });
    }).catch(function () {});
  });
}
