// The embedded counter keeps its count fresh: it asks our count API (same site,
// no cookie) every data-every seconds while the page is visible, and writes the
// count as the page did, in the same words, digits and plural. A failed request
// changes nothing and is tried again later; without this script the count shown
// is the count as of the time the page says.
(function () {
  "use strict";
  var box = document.querySelector("[data-count-url]");
  if (!box || !box.dataset.every || !window.fetch || !window.Intl || !Intl.PluralRules) return;
  var lang = document.documentElement.lang;
  var locale = lang + "-u-nu-" + (lang === "ar" && box.dataset.digits === "arab" ? "arab" : "latn");
  var numbers = new Intl.NumberFormat(locale);
  var clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  var plurals = new Intl.PluralRules(lang);
  var every = parseFloat(box.dataset.every) * 1000;
  var line = box.querySelector(".count-line");
  var bar = box.querySelector(".goal-bar");
  var time = box.querySelector(".as-of time");
  var timer = null;

  function show(count) {
    if (typeof count.verified !== "number") return;
    var n = count.verified;
    if (String(n) !== line.dataset.count) {
      var sentence = n ? (box.getAttribute("data-form-" + plurals.select(n)) || box.getAttribute("data-form-other")) : box.dataset.none;
      var parts = sentence.split("{n}");
      var strong = document.createElement("strong");
      line.textContent = "";
      if (!n) {
        strong.textContent = sentence;
        line.append(strong);
      } else if (parts.length > 1) {
        strong.className = "count-number";
        strong.textContent = numbers.format(n);
        line.append(parts[0], strong, parts.slice(1).join(""));
      } else {
        line.append(sentence);  // "توقيع واحد مؤكَّد": the number is in the words
      }
      line.dataset.count = String(n);
      if (bar) bar.value = Math.min(n, bar.max);
    }
    if (time && count.as_of) {
      var at = new Date(count.as_of);
      if (!isNaN(at)) {
        time.dateTime = count.as_of;
        time.textContent = clock.format(at);
      }
    }
  }

  function refresh() {
    fetch(box.dataset.countUrl, { credentials: "omit", cache: "no-cache" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (count) { if (count) show(count); })
      .catch(function () { /* offline or refused: keep what is shown */ })
      .then(schedule);
  }

  function schedule() {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(refresh, every * (1 + Math.random() / 4));
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(timer); timer = null; } else { refresh(); }
  });
  schedule();
})();
