// The queue and the sent list re-read their table with htmx (hx-trigger="every …s" on table[data-live]).
// A poll is skipped while the tab is hidden, or while the user is choosing in one of the table's rows
// (a reason or an assignee): swapping the table then would throw their choice away.
(function () {
  "use strict";
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (!elt.hasAttribute || !elt.hasAttribute("data-live") || event.detail.verb !== "get") { return; }
    var focused = document.activeElement;
    var busy = focused && elt.contains(focused) && /^(SELECT|INPUT|TEXTAREA)$/.test(focused.tagName);
    if (document.hidden || busy) { event.preventDefault(); }
  });
})();
