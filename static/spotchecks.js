// Spot checks: the logging desk (timers, connected/not) and the public directory's instant filter. No libraries.
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }
  function localNow() {
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  var form = document.getElementById("call-form");
  if (form) {
    var started = document.getElementById("started_at");
    var startNow = document.getElementById("start-now");
    if (startNow) startNow.addEventListener("click", function () { started.value = localNow(); });

    var ring = document.getElementById("ring_seconds");
    var timer = document.getElementById("ring-timer");
    var ticking = null, began = 0;
    if (timer) timer.addEventListener("click", function () {
      if (ticking) {
        clearInterval(ticking); ticking = null;
        timer.textContent = timer.dataset.label; timer.classList.remove("timing");
        return;
      }
      began = Date.now();
      if (!started.value) started.value = localNow();
      timer.textContent = "接通/挂断 停止"; timer.classList.add("timing");
      ring.value = 0;
      ticking = setInterval(function () { ring.value = Math.round((Date.now() - began) / 1000); }, 250);
    });

    var fields = document.getElementById("connected-fields");
    function sync() {
      var chosen = form.querySelector("input[name=connected]:checked");
      var off = chosen && chosen.value === "0";
      fields.classList.toggle("off", !!off);
      fields.querySelectorAll("input").forEach(function (el) { el.disabled = !!off; });
    }
    form.querySelectorAll("input[name=connected]").forEach(function (el) { el.addEventListener("change", sync); });
    sync();
  }

  // The rubric form: the criteria's running total, which must come to 100.
  var total = document.getElementById("rubric-total");
  if (total) {
    var weights = Array.prototype.slice.call(document.querySelectorAll(".rubric-weight"));
    var add = function () {
      var sum = weights.reduce(function (acc, el) { return acc + (parseInt(el.value, 10) || 0) * Number(el.dataset.times); }, 0);
      total.textContent = sum;
      total.classList.toggle("bad", sum !== 100);
    };
    weights.forEach(function (el) { el.addEventListener("input", add); });
    add();
  }

  var q = document.getElementById("directory-q");
  if (q) {
    var rows = Array.prototype.slice.call(document.querySelectorAll(".directory tr[data-key]"));
    var sections = Array.prototype.slice.call(document.querySelectorAll(".directory section.area"));
    var count = document.getElementById("directory-count");
    q.addEventListener("input", function () {
      var words = q.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var key = row.dataset.key;
        var hit = words.every(function (w) { return key.indexOf(w) !== -1; });
        row.classList.toggle("hidden", !hit);
        if (hit) shown++;
      });
      sections.forEach(function (s) { s.classList.toggle("hidden", !s.querySelector("tr[data-key]:not(.hidden)")); });
      count.textContent = words.length ? "找到 " + shown + " 条" : "";
    });
  }
})();
