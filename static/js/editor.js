// Campaign editor, progressive enhancement only: the page works without it.
(function () {
  "use strict";
  var form = document.querySelector("form[data-keepalive-url]");
  if (!form || !window.fetch) return;
  // Writing a long text can outlast the workspace's idle timeout; while someone is
  // typing, tell the server they are still here so "Save" does not meet a login page.
  var typedSinceLastPing = false;
  form.addEventListener("input", function () { typedSinceLastPing = true; });
  setInterval(function () {
    if (!typedSinceLastPing) return;
    typedSinceLastPing = false;
    fetch(form.getAttribute("data-keepalive-url"), { credentials: "same-origin", cache: "no-store" })
      .catch(function () {});
  }, 4 * 60 * 1000);
})();
