// The share panel's progressive enhancement: the phone's own share sheet where the
// browser offers one. Without this file every link, the QR code and the address
// field still work. Loads nothing from anywhere else.
(function () {
  "use strict";
  if (!navigator.share) return;
  document.querySelectorAll(".share-panel").forEach(function (panel) {
    var holder = panel.querySelector(".native-share");
    var button = panel.querySelector("[data-native-share]");
    if (!holder || !button) return;
    holder.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({
        title: panel.getAttribute("data-share-title"),
        text: panel.getAttribute("data-share-text"),
        url: panel.getAttribute("data-share-url")
      }).catch(function () { /* the signer closed the sheet: nothing to do */ });
    });
  });
})();
