// Temporary stand-in: the real loader is bundled from widget/ by esbuild and
// overwrites this file. Until then it only exposes the embed's config.
(function () {
  'use strict';
  try {
    var node = document.getElementById('revisit-config');
    var config = node ? JSON.parse(node.textContent) : null;
    window.Revisit = Object.assign(window.Revisit || {}, { config: config });
  } catch (error) {
    // A broken config must never surface as an error on the merchant's store.
  }
})();
