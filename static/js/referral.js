// Live status on the sent-referrals list: re-fetch this page's table every N seconds and swap it in.
(function () {
  "use strict";
  var table = document.querySelector("table[data-live]");
  if (!table) { return; }
  var seconds = parseInt(table.getAttribute("data-live"), 10) || 30;
  window.setInterval(function () {
    if (document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (resp) { return resp.ok ? resp.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("table[data-live] tbody");
        var current = document.querySelector("table[data-live] tbody");
        if (fresh && current) { current.replaceWith(fresh); }
      })
      .catch(function () { /* offline for a moment: try again next tick */ });
  }, seconds * 1000);
})();
