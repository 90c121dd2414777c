// The letters pass (?p=…) names a confirmed signer for two hours. Take it out of
// the address bar, so a signer who copies the address to share the campaign does
// not hand it on; the page's own links and form keep it. Without this file the
// pass simply stays visible until it expires.
(function () {
  "use strict";
  if (!window.history || !history.replaceState || !window.URL) return;
  var url = new URL(window.location.href);
  if (!url.searchParams.has("p")) return;
  url.searchParams.delete("p");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
})();
