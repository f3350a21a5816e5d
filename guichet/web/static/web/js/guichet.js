// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";

  // Move focus to an error summary (or another block that must be read first) after a
  // failed submit, so keyboard and screen-reader users land on the list of problems.
  function focusFlagged(root) {
    var target = root.querySelector("[data-focus-on-load]");
    if (target) {
      target.focus();
    }
  }

  // After "load", not "DOMContentLoaded": navigating to the form's #fragment moves focus
  // once the page is parsed, and would otherwise take it back from the summary.
  window.addEventListener("load", function () {
    focusFlagged(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    focusFlagged(event.target);
  });
})();
