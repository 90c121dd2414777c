// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // "Copy link" buttons: shown only where the Clipboard API exists.
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      navigator.clipboard.writeText(input.value).then(function () {
        var original = button.textContent;
        button.textContent = button.getAttribute("data-copied-text");
        setTimeout(function () { button.textContent = original; }, 2000);
      });
    });
  });
  // Bring the error summary into view and focus after a failed submission.
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
