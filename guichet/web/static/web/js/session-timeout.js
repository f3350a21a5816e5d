// Inactivity warning for logged-in pages (WCAG 2.2.1 Timing Adjustable).
//
// The server ends the session after data-session-seconds without a request;
// this script only warns data-session-warning seconds before, in the dialog
// #session-dialog (base.html), and offers to stay (a GET to the keep-alive URL
// refreshes the session) or to log out (a plain form post). At zero it opens
// the "session ended" page. Other tabs of the same site share the news that
// the session was refreshed through localStorage. Without JavaScript the
// session simply ends on the server.
(function () {
  "use strict";

  var STORAGE_KEY = "guichet.session.refreshed";
  var TICK_MS = 1000;

  function init() {
    var body = document.body;
    var dialog = document.getElementById("session-dialog");
    var total = parseInt(body.getAttribute("data-session-seconds"), 10);
    var warning = parseInt(body.getAttribute("data-session-warning"), 10);
    if (!dialog || !(total > 0) || !(warning > 0) || typeof dialog.showModal !== "function") {
      return;
    }
    var keepaliveUrl = body.getAttribute("data-session-keepalive");
    var expiredUrl = body.getAttribute("data-session-expired");
    var text = document.getElementById("session-dialog-text");
    var stay = dialog.querySelector("[data-session-stay]");
    var plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(document.documentElement.lang) : null;
    var deadline = 0;
    var returnFocus = null;

    function restart() {
      deadline = Date.now() + total * 1000;
    }

    function secondsLeft() {
      return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    }

    function describe(seconds) {
      var form = plural && plural.select(seconds) === "one" ? "data-one" : "data-other";
      text.textContent = text.getAttribute(form).replace("{seconds}", String(seconds));
    }

    function open() {
      describe(secondsLeft());
      returnFocus = document.activeElement;
      dialog.showModal();
      stay.focus();
    }

    function close() {
      if (dialog.open) {
        dialog.close();
      }
      if (returnFocus && typeof returnFocus.focus === "function") {
        returnFocus.focus();
      }
      returnFocus = null;
    }

    function expire() {
      window.location.assign(expiredUrl);
    }

    function announceRefresh() {
      try {
        window.localStorage.setItem(STORAGE_KEY, String(Date.now()));
      } catch (error) {
        // Storage may be disabled: the other tabs then warn on their own.
      }
    }

    function keepAlive() {
      stay.disabled = true;
      window
        .fetch(keepaliveUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/plain" } })
        .then(function (response) {
          if (response.status !== 204) {
            expire();
            return;
          }
          restart();
          announceRefresh();
          close();
        })
        .catch(function () {
          // Network trouble: keep the dialog, the user may try again.
        })
        .finally(function () {
          stay.disabled = false;
        });
    }

    function tick() {
      var left = secondsLeft();
      if (left <= 0) {
        expire();
        return;
      }
      if (left <= warning) {
        if (dialog.open) {
          describe(left);
        } else {
          open();
        }
      }
    }

    stay.addEventListener("click", keepAlive);
    // Escape means "stay": the dialog must not just vanish while the clock runs.
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      keepAlive();
    });
    window.addEventListener("storage", function (event) {
      if (event.key === STORAGE_KEY) {
        restart();
        close();
      }
    });
    // htmx requests refresh the session on the server too.
    document.addEventListener("htmx:afterRequest", function () {
      restart();
      announceRefresh();
    });

    restart();
    announceRefresh();
    window.setInterval(tick, TICK_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
