// Tickets area: the operator's call panel (incoming calls, repeat callers, timer, KB entries used)
// and the unit → person pickers of the dispatch forms. Plain JavaScript, no libraries.
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  // The JSON API takes this page's session only with the CSRF token in X-CSRFToken (app.js reads it).
  function getJson(url) {
    var headers = { "Accept": "application/json", "X-CSRFToken": window.Hotline ? window.Hotline.csrfToken() : "" };
    return fetch(url, { credentials: "same-origin", headers: headers })
      .then(function (resp) {
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.json();
      });
  }

  // --- the call panel ---------------------------------------------------------------------------
  function callPanel() {
    var panel = $("call-panel");
    if (!panel) { return; }
    var form = $("call-form");
    var number = $("call-number");
    var callId = $("call-id");
    var duration = $("call-duration");
    var entries = $("call-entries");
    var timerText = $("call-timer");
    var incomingBox = $("call-incoming");
    var repeatBox = $("call-repeat");
    var ticketUrl = panel.dataset.ticketUrl.replace(/0$/, "");
    var startedAt = null;
    var durationTyped = false;
    var dismissed = {};
    var lookupTimer = null;
    var lastLookup = "";

    function elapsed() { return startedAt ? Math.round((Date.now() - startedAt) / 1000) : 0; }
    function fmt(seconds) { return Math.floor(seconds / 60) + ":" + ("0" + (seconds % 60)).slice(-2); }
    function startTimer() { if (!startedAt) { startedAt = Date.now(); } }
    setInterval(function () {
      if (!startedAt) { return; }
      timerText.textContent = fmt(elapsed());
      if (!durationTyped) { duration.value = fmt(elapsed()); }
    }, 1000);
    duration.addEventListener("input", function () { durationTyped = true; });
    form.addEventListener("input", startTimer);

    // KB entries opened on the search page (the page keeps #kb-opened-ids up to date).
    function syncEntries() {
      var opened = $("kb-opened-ids");
      if (!opened || !opened.value) { return; }
      var have = entries.value.split(/[,,\s]+/).filter(Boolean);
      opened.value.split(",").filter(Boolean).forEach(function (id) {
        if (have.indexOf(id) < 0) { have.push(id); }
      });
      entries.value = have.join(",");
    }
    document.addEventListener("change", function (ev) {
      if (ev.target && ev.target.id === "kb-opened-ids") { syncEntries(); }
    });
    syncEntries();

    function renderTickets(tickets) {
      if (!tickets || !tickets.length) { repeatBox.hidden = true; repeatBox.innerHTML = ""; return; }
      repeatBox.innerHTML = "<strong>重复来电:该号码有" + tickets.length + "件未办结工单</strong><ul>" +
        tickets.map(function (t) {
          return '<li><a href="' + ticketUrl + t.id + '" target="_blank">' + escapeHtml(t.number) + "</a> " +
            escapeHtml(t.state_label) + " · " + escapeHtml(t.kind_label) + " · " + escapeHtml(t.township) +
            (t.first_owner ? " · 首派责任人 " + escapeHtml(t.first_owner.name) : "") +
            '<br><span class="muted">' + escapeHtml(t.description) + "</span></li>";
        }).join("") + "</ul>";
      repeatBox.hidden = false;
    }

    function lookup() {
      var digits = number.value.replace(/[^\d+]/g, "");
      if (digits.length < 7 || digits === lastLookup) { return; }
      lastLookup = digits;
      getJson(panel.dataset.lookupUrl + "?number=" + encodeURIComponent(digits))
        .then(function (data) { renderTickets(data.tickets); })
        .catch(function () { /* the lookup is a help, not a requirement */ });
    }
    number.addEventListener("input", function () {
      clearTimeout(lookupTimer);
      lookupTimer = setTimeout(lookup, 350);
    });
    if (number.value) { lookup(); }

    function take(call) {
      callId.value = call.id;
      number.value = "";
      number.placeholder = "来电 " + call.caller_number;
      startedAt = Date.parse(call.started_at) || Date.now();
      incomingBox.hidden = true;
      renderTickets(call.open_tickets);
      // On the search page the operator goes on searching; elsewhere, on to what was asked.
      var next = $("q") || form.querySelector("textarea[name=question]");
      if (next) { next.focus(); }
    }

    function showIncoming(calls) {
      var call = (calls || []).filter(function (c) { return !dismissed[c.id] && String(c.id) !== callId.value; })[0];
      if (!call) { incomingBox.hidden = true; return; }
      incomingBox.innerHTML = '<span class="ring">来电</span> ' + escapeHtml(call.caller_number) +
        (call.open_tickets && call.open_tickets.length ? ' <span class="badge bad">有' + call.open_tickets.length +
          "件未办结工单</span>" : "") +
        ' <button type="button" class="primary" data-take>接听并记录</button>' +
        ' <button type="button" data-dismiss>忽略</button>';
      incomingBox.hidden = false;
      incomingBox.querySelector("[data-take]").onclick = function () { take(call); };
      incomingBox.querySelector("[data-dismiss]").onclick = function () {
        dismissed[call.id] = true; incomingBox.hidden = true;
      };
    }

    function poll() {
      if (document.hidden) { return; }
      getJson(panel.dataset.incomingUrl).then(function (data) { showIncoming(data.calls); })
        .catch(function () { /* try again on the next tick */ });
    }
    poll();
    setInterval(poll, 4000);

    form.addEventListener("submit", function () {
      syncEntries();
      if (!duration.value && startedAt) { duration.value = fmt(elapsed()); }
    });
    form.addEventListener("reset", function () {
      callId.value = "";
      number.placeholder = "如 13812345678";
      startedAt = null;
      durationTyped = false;
      timerText.textContent = "0:00";
      lastLookup = "";
      renderTickets([]);
      if (window.HotlineSearch && window.HotlineSearch.resetOpened) { window.HotlineSearch.resetOpened(); }
    });
  }

  // --- unit → person pickers ----------------------------------------------------------------------
  function picker(root) {
    var unitSelect = root.querySelector("[data-unit-select]");
    var personSelect = root.querySelector("[data-person-select]");
    if (!unitSelect || !personSelect) { return; }

    function filter() {
      var unit = unitSelect.value;
      Array.prototype.forEach.call(personSelect.options, function (opt) {
        if (!opt.value) { return; }
        var show = !unit || opt.dataset.unit === unit;
        opt.hidden = !show;
        opt.disabled = !show;
      });
      var current = personSelect.selectedOptions[0];
      if (current && current.disabled) { personSelect.value = ""; }
    }
    unitSelect.addEventListener("change", filter);

    root.addEventListener("click", function (ev) {
      var chip = ev.target.closest("[data-pick-user]");
      if (!chip) { return; }
      unitSelect.value = chip.dataset.pickUnit;
      filter();
      personSelect.value = chip.dataset.pickUser;
      Array.prototype.forEach.call(root.querySelectorAll("[data-pick-user]"), function (c) {
        c.classList.toggle("picked", c === chip);
      });
    });
    filter();
  }

  // --- the new-ticket form: suggestions follow the township and topic -----------------------------
  function ticketForm() {
    var form = $("ticket-form");
    if (!form) { return; }
    var township = form.querySelector("[data-township]");
    var topic = form.querySelector("[data-topic]");
    var root = form.querySelector("[data-owner-picker]");
    if (!township || !root) { return; }

    function refresh() {
      if (!township.value) { return; }
      var url = form.dataset.suggestUrl + "?township_id=" + encodeURIComponent(township.value) +
        "&topic=" + encodeURIComponent(topic ? topic.value : "");
      getJson(url).then(function (data) {
        var box = root.querySelector(".suggestions");
        if (!box) {
          box = document.createElement("div");
          box.className = "suggestions";
          root.insertBefore(box, root.firstChild);
        }
        if (!data.suggestions.length) {
          box.innerHTML = '<span class="muted small">该乡镇暂无推荐的承办人,请按单位选择</span>';
          return;
        }
        box.innerHTML = '<span class="muted small">推荐:</span>' + data.suggestions.map(function (s) {
          return '<button type="button" class="chip" data-pick-user="' + s.id + '" data-pick-unit="' + s.unit_id +
            '" title="' + escapeHtml(s.reason) + '">' + escapeHtml(s.name) + '<span class="muted small">·' +
            escapeHtml(s.unit) + "</span></button>";
        }).join("");
      }).catch(function () { /* suggestions are optional */ });
    }
    township.addEventListener("change", refresh);
    if (topic) { topic.addEventListener("change", refresh); }
    if (township.value && !root.querySelector(".suggestions")) { refresh(); }
  }

  callPanel();
  Array.prototype.forEach.call(document.querySelectorAll("[data-owner-picker]"), picker);
  ticketForm();
})();
