// The thank-you page's "Share…" button: the phone's own share sheet (Web Share API),
// offered only where the browser has one. Without it (or without this file) the
// plain share links below do the same job.
(function () {
  "use strict";
  if (!navigator.share) return;
  document.querySelectorAll("[data-share-url]").forEach(function (button) {
    var data = {
      title: button.getAttribute("data-share-title"),
      text: button.getAttribute("data-share-text"),
      url: button.getAttribute("data-share-url")
    };
    if (navigator.canShare && !navigator.canShare(data)) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      // A signer who closes the sheet rejects the promise: nothing to report.
      navigator.share(data).catch(function () {});
    });
  });
})();
