// Live updates for the Verity explorer: every 2 s, fetch /explorer/live.json and replace the
// text of each element whose data-live key it names. Pages are complete without this script;
// when a poll fails the numbers stay as they are and the header says updates are paused.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var fields = document.querySelectorAll("[data-live]");
  if (!status || fields.length === 0 || !window.fetch) {
    return;
  }
  var say = function (text) { status.textContent = text; };
  var poll = function () {
    fetch("/explorer/live.json", { cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (live) {
        fields.forEach(function (el) {
          var value = live.values[el.getAttribute("data-live")];
          if (value !== undefined && el.textContent !== value) {
            el.textContent = value;
          }
        });
        say("live · height " + live.height);
      })
      .catch(function (err) {
        say("live updates paused (" + err.message + "); retrying");
      })
      .then(function () { window.setTimeout(poll, 2000); });
  };
  say("live");
  poll();
})();
