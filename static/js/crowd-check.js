// The proof of work asked of a crowded connection (campaign/signatures/crowds.py):
// run the vendored altcha widget with our own PBKDF2 worker, then send the form the
// person already pressed Sign on. Without this file the form still works: the
// signature is then held for the organisers to review.
(function () {
  "use strict";
  var box = document.getElementById("crowd-check");
  var widget = box && box.querySelector("altcha-widget");
  if (!widget || !globalThis.$altcha) return;
  var noScript = document.getElementById("crowd-check-no-script");
  if (noScript) noScript.hidden = true;
  var workerUrl = box.getAttribute("data-worker");
  ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"].forEach(function (name) {
    globalThis.$altcha.algorithms.set(name, function () { return new Worker(workerUrl); });
  });
  var form = widget.closest("form");
  var sent = false;
  widget.addEventListener("statechange", function (event) {
    if (event.detail && event.detail.state === "verified" && form && !sent) {
      sent = true;
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });
  customElements.whenDefined("altcha-widget").then(function () {
    // The widget's methods exist once it has loaded.
    if (typeof widget.verify === "function") {
      widget.verify();
    } else {
      widget.addEventListener("load", function () { widget.verify(); }, { once: true });
    }
  });
})();
