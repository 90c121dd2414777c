// The embed kit without reloading: a picker (a link to the kit with that option)
// changes the previews, the code to copy and the other pickers' links in place.
// Without this file every picker is a plain link and works the same.
(function () {
  "use strict";
  var kit = document.querySelector("[data-kit]");
  if (!kit || !window.URLSearchParams || !window.history.replaceState) return;
  var NAMES = ["lang", "digits", "theme", "size"];
  var state = {};
  var current = new URLSearchParams(kit.dataset.query.slice(1));
  NAMES.forEach(function (name) { state[name] = current.get(name); });

  function query(values) {
    return "?" + NAMES.filter(function (name) { return values[name]; })
      .map(function (name) { return name + "=" + encodeURIComponent(values[name]); }).join("&");
  }

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }

  function apply() {
    var q = query(state);
    kit.querySelectorAll("[data-preview]").forEach(function (preview) {
      preview.src = preview.dataset.preview + q;
      preview.classList.remove("size-full", "size-compact");
      preview.classList.add("size-" + state.size);
    });
    kit.querySelectorAll("textarea[data-template]").forEach(function (code) {
      var heights = (code.dataset.heights || "").split(" ");
      var height = state.size === "compact" ? heights[1] : heights[0];
      code.value = code.dataset.template.split("{query}").join(escapeHtml(q)).split("{height}").join(height || "");
    });
    kit.querySelectorAll("textarea[data-variants]").forEach(function (code) {
      var variant = JSON.parse(code.dataset.variants)[state.lang + ":" + state.theme];
      if (variant) code.value = variant;
    });
    kit.querySelectorAll("a[data-option]").forEach(function (link) {
      var values = Object.assign({}, state);
      values[link.dataset.option] = link.dataset.value;
      var url = new URL(link.href);
      url.search = query(values);
      link.href = url.toString();
      if (state[link.dataset.option] === link.dataset.value) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
    var page = new URL(window.location.href);
    page.search = q;
    window.history.replaceState(null, "", page.toString());
  }

  kit.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-option]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    state[link.dataset.option] = link.dataset.value;
    apply();
  });
})();
