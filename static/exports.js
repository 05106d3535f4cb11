// The export page follows its export until the file is ready (or failed): one small poll a second.
(function () {
  "use strict";
  var card = document.querySelector("[data-export-url]");
  if (!card) return;
  var url = card.getAttribute("data-export-url");
  var bar = card.querySelector("[data-export-progress]");
  var state = card.querySelector("[data-export-state]");
  var rows = card.querySelector("[data-export-rows]");
  var error = card.querySelector("[data-export-error]");
  var ready = card.querySelector("[data-export-ready]");

  function show(data) {
    bar.value = data.percent;
    bar.textContent = data.percent + "%";
    state.textContent = data.state_label;
    rows.textContent = data.state === "running" ? "（已写 " + data.done_rows + " 行）" : "";
    if (data.error) { error.textContent = data.error; error.hidden = false; }
    ready.hidden = data.state !== "done";
    return data.state === "done" || data.state === "failed";
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data === null || !show(data)) setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (ready.hidden && error.hidden) setTimeout(poll, 1000);
})();
