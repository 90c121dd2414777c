// Sawt's sign form in your page: paste this script once, after the iframe(s) of
// the form (the embed code does). It is optional: without it the form works the
// same in a frame of fixed height.
//
// It listens to messages from Sawt's frames only (the origin this script came
// from), and
//   - fits each Sawt frame's height to its form ({type: "sawt:height"});
//   - dispatches a "sawt:signed" event on the iframe when someone sends the form
//     ({type: "sawt:signed"}); its detail is {campaign: "<slug>"}, nothing about
//     the signer. Listen with:
//       document.addEventListener("sawt:signed", function (e) { … e.detail.campaign … });
// It loads nothing and sets no cookie.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, document.baseURI).origin;
  var MAX_HEIGHT = 4000;

  function frameOf(source) {
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === source) return frames[i];
    }
    return null;
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin) return;
    var data = event.data;
    if (!data || typeof data !== "object" || typeof data.type !== "string") return;
    var frame = frameOf(event.source);
    if (!frame) return;
    if (data.type === "sawt:height") {
      var height = Number(data.height);
      if (isFinite(height) && height > 0) {
        frame.style.height = Math.min(Math.ceil(height), MAX_HEIGHT) + "px";
      }
    } else if (data.type === "sawt:signed") {
      var campaign = typeof data.campaign === "string" ? data.campaign : "";
      var signed;
      try {
        signed = new CustomEvent("sawt:signed", { bubbles: true, detail: { campaign: campaign } });
      } catch (e) {
        return;
      }
      frame.dispatchEvent(signed);
    }
  });

  // A frame that loaded before this script (it is async) has told its height
  // already, to nobody: ask Sawt's frames to tell it again.
  var frames = document.getElementsByTagName("iframe");
  for (var i = 0; i < frames.length; i++) {
    var src = frames[i].getAttribute("src") || "";
    var from;
    try {
      from = new URL(src, document.baseURI).origin;
    } catch (e) {
      continue;
    }
    if (from === origin && frames[i].contentWindow) {
      frames[i].contentWindow.postMessage({ type: "sawt:report" }, origin);
    }
  }
})();
