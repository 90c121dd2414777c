// The embedded sign form (campaign/signatures/embed.py) inside another site's page.
// It tells the host page two things with postMessage, and nothing about the signer:
//   {type: "sawt:height", campaign, height}  the frame's content height, whenever it
//                                            changes, so the host can fit the frame;
//   {type: "sawt:signed", campaign}          someone sent the form (the "check your
//                                            e-mail" step is showing).
// It answers {type: "sawt:report"} from the host page by telling its height again.
// The target is "*" because any site may host the form: so nothing personal is
// ever sent. static/embed-host.js is the listener hosts may paste. Without this
// file the form works the same; the host just cannot resize the frame.
(function () {
  "use strict";
  var root = document.documentElement;
  var campaign = root.getAttribute("data-campaign") || "";
  var host = window.parent;
  if (!host || host === window) return;

  function tell(message) {
    message.campaign = campaign;
    host.postMessage(message, "*");
  }

  var reported = -1;
  function report() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== reported) {
      reported = height;
      tell({ type: "sawt:height", height: height });
    }
  }
  report();
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(report).observe(document.body);
  } else {
    window.addEventListener("resize", report);
  }
  window.addEventListener("load", report);
  // The host's script (static/embed-host.js) asks again when it loads after us.
  window.addEventListener("message", function (event) {
    if (event.source === host && event.data && event.data.type === "sawt:report") {
      reported = -1;
      report();
    }
  });
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(report);

  if (root.hasAttribute("data-signed")) tell({ type: "sawt:signed" });

  // After a failed post, the error summary first (as sawt.js does on the site).
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus({ preventScroll: true });
})();
