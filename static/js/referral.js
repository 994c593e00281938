// The queue, the sent list and the case page's referrals re-read themselves with htmx (hx-trigger="every …s"
// on [data-live]). A poll is skipped while the tab is hidden, while the user is choosing in one of the rows
// (a reason or an assignee), or while a slot picker is open in it: swapping then would throw that away.
// A poll does not keep the session alive (see below).
(function () {
  "use strict";
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (!elt.hasAttribute || !elt.hasAttribute("data-live") || event.detail.verb !== "get") { return; }
    var focused = document.activeElement;
    var busy = focused && elt.contains(focused) && /^(SELECT|INPUT|TEXTAREA)$/.test(focused.tagName);
    busy = busy || elt.querySelector("[data-testid=slot-picker]") !== null;
    if (document.hidden || busy) { event.preventDefault(); }
  });
  // A poll is not activity: the server does not push the session's idle timeout on for it (core.sessions).
  // Only the live section's own GET carries the mark; a click inside it (accept, book) is activity.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.hasAttribute && elt.hasAttribute("data-live") && event.detail.verb === "get") {
      event.detail.headers["X-Yeongye-Poll"] = "1";
    }
  });
})();
