// Live password checklist (identity/includes/password_rules.html). Progressive
// enhancement: the server checks the same rules on submit and says which failed.
(function () {
  "use strict";
  if (window.guichetPasswordRules) {
    return; // the include may appear more than once on a page
  }
  window.guichetPasswordRules = true;

  var PAUSE_MS = 1200; // announce once the user pauses, not on every keystroke
  var TESTS = {
    upper: function (value) { return /\p{Lu}/u.test(value); },
    lower: function (value) { return /\p{Ll}/u.test(value); },
    digit: function (value) { return /\p{Nd}/u.test(value); },
    special: function (value) { return /[^\p{L}\p{N}]/u.test(value); }
  };

  function ruleMet(item, value) {
    var name = item.getAttribute("data-rule");
    if (name === "length") {
      return Array.from(value).length >= parseInt(item.getAttribute("data-min"), 10);
    }
    return TESTS[name] ? TESTS[name](value) : false;
  }

  function setUp(box) {
    var input = document.getElementById(box.getAttribute("data-input"));
    if (!input) {
      return;
    }
    var list = box.querySelector("ul");
    var items = Array.from(box.querySelectorAll("[data-rule]"));
    var status = box.querySelector("[data-rules-status]");
    var timer = null;
    var lastAnnounced = null;

    var described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (list.id && described.indexOf(list.id) === -1) {
      described.push(list.id);
      input.setAttribute("aria-describedby", described.join(" "));
    }

    function announce(met) {
      var text = met === items.length
        ? box.getAttribute("data-all-met")
        : box.getAttribute("data-summary").replace("{met}", met).replace("{total}", items.length);
      if (text !== lastAnnounced) {
        status.textContent = text;
        lastAnnounced = text;
      }
    }

    function update() {
      var value = input.value;
      var met = 0;
      items.forEach(function (item) {
        var ok = ruleMet(item, value);
        met += ok ? 1 : 0;
        item.setAttribute("data-met", ok ? "true" : "false");
        item.querySelector(".rule-mark").textContent = ok ? "✓" : "✗";
        item.querySelector(".rule-state").textContent =
          " (" + box.getAttribute(ok ? "data-label-met" : "data-label-unmet") + ")";
      });
      window.clearTimeout(timer);
      if (value) {
        timer = window.setTimeout(function () { announce(met); }, PAUSE_MS);
      }
    }

    input.addEventListener("input", update);
    if (input.value) {
      update();
    }
  }

  function init() {
    document.querySelectorAll("[data-password-rules]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
