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

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": window.Hotline ? window.Hotline.csrfToken() : "" }
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        return { ok: resp.ok, status: resp.status, body: data };
      });
    });
  }

  // --- the call panel ---------------------------------------------------------------------------
  // Follows the operator's calls through the calls stream (server-sent events, static/sse.js), polling
  // while the stream is down.
  function callPanel() {
    var panel = $("call-panel");
    if (!panel) { return; }
    var form = $("call-form");
    var number = $("call-number");
    var nameField = $("call-name");
    var question = $("call-question");
    var callId = $("call-id");
    var duration = $("call-duration");
    var entries = $("call-entries");
    var submitButton = $("call-submit");
    var timerText = $("call-timer");
    var incomingBox = $("call-incoming");
    var repeatBox = $("call-repeat");
    var liveBox = $("call-live");
    var transcriptBox = $("call-transcript");
    var draftBox = $("call-draft");
    var liveStatus = $("call-live-status");
    var streamState = $("call-stream-state");
    var doneBox = $("call-done");
    var formError = $("call-form-error");
    var search = window.HotlineSearch || null;
    var me = Number(panel.dataset.userId);
    var ticketUrl = panel.dataset.ticketUrl.replace(/0$/, "");
    var startedAt = null;
    var durationTyped = false;
    var dismissed = {};
    var lookupTimer = null;
    var lastLookup = "";
    var calls = {};          // call id -> the latest assist state ({call, transcript, suggestions, needs, draft})
    var ringing = null;      // the call the pop offers
    var noted = {};          // "call:entry:action" already sent
    var pendingUses = [];    // uses of a typed-only call, sent once it is recorded
    var saving = false;
    var streamLive = false;
    var pollTimer = null;
    var doneTimer = null;

    function forCall(template, id) { return template.replace(/\/0(\/|$)/, "/" + id + "$1"); }
    function elapsed() { return startedAt ? Math.max(0, Math.round((Date.now() - startedAt) / 1000)) : 0; }
    function fmt(seconds) { return Math.floor(seconds / 60) + ":" + ("0" + (seconds % 60)).slice(-2); }
    function startTimer() { if (!startedAt) { startedAt = Date.now(); } }
    setInterval(function () {
      if (!startedAt) { return; }
      timerText.textContent = fmt(elapsed());
      if (!durationTyped) { duration.value = fmt(elapsed()); }
    }, 1000);
    duration.addEventListener("input", function () { durationTyped = true; });
    // A call with no telephony: the timer starts when the operator opens the panel or first types.
    form.addEventListener("input", startTimer);
    panel.addEventListener("focusin", startTimer);
    if ($("q")) { $("q").addEventListener("input", function () { if (!callId.value) { startTimer(); } }); }

    // --- fields the transcript fills: marked, and never overwritten once the operator edits them ---
    function mark(name, text, title) {
      var m = panel.querySelector('[data-mark-for="' + name + '"]');
      if (!m) { return; }
      m.hidden = !text;
      if (text) { m.textContent = text; m.title = title ? "来电人说：" + title : ""; }
    }
    [number, nameField, question].forEach(function (el) {
      el.addEventListener("input", function () { el.dataset.touched = "1"; mark(el.name, ""); clearError(el.name); });
    });
    function autofill(el, value, label, words) {
      if (el.dataset.touched || !value) { return; }
      if (el.value !== value) { el.value = value; }
      mark(el.name, label, words);
    }
    function dirty() {
      return !!(number.dataset.touched || nameField.dataset.touched || question.dataset.touched);
    }

    function callerWords(state) {
      return (state.transcript || []).filter(function (s) { return s.speaker === "caller" && s.text; })
        .map(function (s) { return s.text; }).join("，");
    }
    function fillQuestion() {
      var state = callId.value ? calls[callId.value] : null;
      var typed = search && search.queries ? search.queries() : [];
      if (state && state.draft && state.draft.summary) {
        autofill(question, state.draft.summary, "来自通话转写", state.draft.summary);
      } else if (state && callerWords(state)) {
        autofill(question, callerWords(state).slice(-300), "来自通话转写", "");
      } else if (typed.length) {
        autofill(question, typed.join("；"), "来自检索词", "");
      }
    }
    document.addEventListener("hotline:queries", fillQuestion);

    // --- KB entries: opened and copied ones fill the record; every use is kept on the call ---
    function note(entryId, action) {
      if (!entryId) { return; }
      var id = callId.value;
      if (!id) {
        if (startedAt && pendingUses.every(function (u) { return u[0] !== entryId || u[1] !== action; })) {
          pendingUses.push([entryId, action]);
        }
        return;
      }
      var key = id + ":" + entryId + ":" + action;
      if (noted[key]) { return; }
      noted[key] = true;
      postJson(forCall(panel.dataset.entriesUrl, id), { entry_id: entryId, action: action })
        .then(function (res) { if (!res.ok) { delete noted[key]; } })
        .catch(function () { delete noted[key]; });
    }
    function addEntry(id) {
      var have = entries.value.split(/[,,\s]+/).filter(Boolean);
      if (id && have.indexOf(id) < 0) { have.push(id); entries.value = have.join(","); }
    }
    function syncEntries() {
      var opened = $("kb-opened-ids");
      if (!opened || !opened.value) { return; }
      opened.value.split(",").filter(Boolean).forEach(function (id) { addEntry(id); note(id, "opened"); });
    }
    document.addEventListener("change", function (ev) {
      if (ev.target && ev.target.id === "kb-opened-ids") { syncEntries(); }
    });
    document.addEventListener("click", function (ev) {
      var copy = ev.target.closest ? ev.target.closest("#card [data-copy-target]") : null;
      var article = copy ? copy.closest(".card-entry") : null;
      if (article) { addEntry(article.dataset.entryId); note(article.dataset.entryId, "copied"); }
    });
    if (search && search.onShown) {
      search.onShown(function (id) { note(id, "shown"); });
      search.onDisplayed(function (id) { note(id, "shown"); });
    }
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

    // --- the live call: transcript, draft, suggestions ---
    function renderTranscript(segments) {
      var atEnd = transcriptBox.scrollTop + transcriptBox.clientHeight >= transcriptBox.scrollHeight - 8;
      transcriptBox.innerHTML = (segments || []).map(function (s) {
        return '<li class="seg seg-' + escapeHtml(s.speaker) + (s.final ? "" : " partial") + '"><span class="who">' +
          (s.speaker === "caller" ? "来电人" : "接线员") + "</span>" + escapeHtml(s.text) + "</li>";
      }).join("") || '<li class="muted">等待来电人说话…</li>';
      if (atEnd) { transcriptBox.scrollTop = transcriptBox.scrollHeight; }
    }
    function renderDraft(d, masked) {
      if (!d) { draftBox.hidden = true; draftBox.innerHTML = ""; return; }
      var parts = [];
      function add(label, value) { if (value) { parts.push("<span>" + label + "：" + escapeHtml(value) + "</span>"); } }
      add("姓名", d.caller_name);
      add("电话", d.caller_number);
      if (d.id_number) {
        parts.push('<span class="' + (d.id_number_invalid ? "field-error" : "") + '" data-draft="id_number">身份证：' +
          escapeHtml(d.id_number) + (d.id_number_invalid ? "（" + escapeHtml(d.id_number_invalid) + "，请核对）" : "") +
          "</span>");
      }
      add("乡镇", d.township_name);
      add("地址", d.address);
      add("为谁", d.for_whom);
      add("类型", d.kind);
      if (d.urgency) {
        parts.push('<span class="badge bad">' + escapeHtml(d.urgency) + "</span>" +
          (d.urgency_cues && d.urgency_cues.length ? "（" + escapeHtml(d.urgency_cues.join("、")) + "）" : ""));
      }
      draftBox.innerHTML = '<span class="from-transcript">来自通话转写</span> ' + (parts.join(" · ") || "尚无可填内容") +
        (masked ? ' <span class="muted">（号码已遮蔽）</span>' : "");
      draftBox.hidden = false;
    }
    function followItems(state) {
      var suggestions = state.suggestions || [];
      var needs = (state.needs || []).filter(function (n) { return n && n.entry_id; });
      var byId = {};
      suggestions.forEach(function (s) { byId[s.id] = s; });
      var items = [];
      var seen = {};
      function push(id, need) {
        if (seen[id]) { if (need) { seen[id].need = seen[id].need || need; } return; }
        var s = byId[id] || {};
        seen[id] = { id: id, question: s.question || "", why: s.why || "", need: need || "" };
        items.push(seen[id]);
      }
      if (suggestions.length) { push(suggestions[0].id, ""); }
      needs.forEach(function (n) { push(n.entry_id, n.text); });
      suggestions.forEach(function (s) { push(s.id, ""); });
      return items;
    }
    function renderLive(state) {
      var call = state.call;
      liveBox.hidden = false;
      liveStatus.textContent = "来电 " + call.caller_number + " · " + call.status_label +
        (state.masked ? " · 号码已遮蔽" : "");
      renderTranscript(state.transcript);
      renderDraft(state.draft, state.masked);
      if (state.draft && !state.masked) {
        autofill(nameField, state.draft.caller_name, "来自通话转写", fieldWords(state.draft, "caller_name"));
      }
      fillQuestion();
      if (search && search.follow) { search.follow(followItems(state)); }
      if (call.answered_at && !startedAt) { startedAt = Date.parse(call.answered_at); }
    }
    function fieldWords(draft, name) {
      var f = (draft.fields_from_transcript || []).filter(function (x) { return x.field === name; })[0];
      return f ? f.text : "";
    }

    function take(state) {
      if (!state || !state.call) { return; }
      var call = state.call;
      callId.value = call.id;
      number.value = "";
      number.placeholder = "来电 " + call.caller_number;
      startedAt = Date.parse(call.answered_at || call.started_at) || Date.now();
      incomingBox.hidden = true;
      ringing = null;
      showDone("");
      renderTickets(call.open_tickets);
      renderLive(state);
      if (!streamLive) { poll(); }
    }

    function showIncoming() {
      var offered = Object.keys(calls).map(function (k) { return calls[k].call; }).filter(function (c) {
        return c.status === "ringing" && !dismissed[c.id] && String(c.id) !== callId.value;
      }).sort(function (a, b) { return a.started_at < b.started_at ? 1 : -1; });
      var call = offered[0];
      ringing = call || null;
      if (!call) { incomingBox.hidden = true; incomingBox.innerHTML = ""; return; }
      if (incomingBox.dataset.callId === String(call.id) && !incomingBox.hidden) { return; }
      incomingBox.dataset.callId = call.id;
      incomingBox.innerHTML = '<span class="ring">来电</span> ' + escapeHtml(call.caller_number) +
        (call.open_tickets && call.open_tickets.length ? ' <span class="badge bad">有' + call.open_tickets.length +
          "件未办结工单</span>" : "") +
        ' <button type="button" class="primary" data-take>接听（Alt+A）</button>' +
        ' <button type="button" data-dismiss>忽略</button>';
      incomingBox.hidden = false;
      incomingBox.querySelector("[data-take]").onclick = function () { take(calls[call.id]); };
      incomingBox.querySelector("[data-dismiss]").onclick = function () {
        dismissed[call.id] = true; showIncoming();
      };
    }

    function handle(state) {
      if (!state || !state.call) { return; }
      var call = state.call;
      calls[call.id] = state;
      if (String(call.id) === callId.value) {
        renderLive(state);
      } else if (!callId.value && !dirty() && !dismissed[call.id] && call.operator_id === me &&
                 (call.status === "answered" || call.status === "ended")) {
        take(state);  // telephony put the call through to this operator: follow it at once
      }
      showIncoming();
    }
    function gone(info) {
      delete calls[info.id];
      if (String(info.id) === callId.value && info.status === "recorded" && !saving) {
        clearPanel();
        showDone("该来电已记录。");
      } else if (info.status === "missed" && incomingBox.dataset.callId === String(info.id)) {
        showDone("来电未接，已转入漏接回拨。");
      }
      showIncoming();
    }

    // --- the stream, and polling while it is down ---
    function setStream(live) {
      streamLive = live;
      streamState.textContent = live ? "● 实时 · " : "○ 定时刷新 · ";
      streamState.className = "stream-state " + (live ? "live" : "polling");
    }
    function poll() {
      if (document.hidden) { return; }
      getJson(panel.dataset.incomingUrl).then(function (data) {
        var seen = {};
        (data.calls || []).forEach(function (c) {
          seen[c.id] = true;
          var known = calls[c.id] || {};
          handle({ call: c, transcript: known.transcript, suggestions: known.suggestions, needs: known.needs,
                   draft: known.draft, masked: known.masked });
        });
        Object.keys(calls).forEach(function (id) { if (!seen[id]) { delete calls[id]; } });
        showIncoming();
        if (callId.value && seen[callId.value]) {
          getJson(forCall(panel.dataset.assistUrl, callId.value)).then(function (state) {
            state.masked = state.call.operator_id !== me;
            handle(state);
          }).catch(function () { /* try again on the next tick */ });
        }
      }).catch(function () { /* try again on the next tick */ });
    }
    function startPolling() { if (!pollTimer) { poll(); pollTimer = setInterval(poll, 4000); } }
    function stopPolling() { clearInterval(pollTimer); pollTimer = null; }
    setStream(false);
    window.HotlineStream.open(panel.dataset.streamUrl, {
      live: function (up) {
        setStream(up);
        if (up) { stopPolling(); } else { startPolling(); }
      },
      event: function (event, payload) {
        if (event === "call") { handle(payload); } else if (event === "gone") { gone(payload); }
      }
    });

    // --- recording: over the API, so a refusal keeps everything on the page, its message beside the field ---
    var FIELD_OF = { caller_number: number, caller_name: nameField, question: question, kb_entry_ids: entries,
                     duration_seconds: duration, duration: duration };
    function clearError(field) {
      Array.prototype.forEach.call(panel.querySelectorAll(".field-error[data-error-for]"), function (el) {
        if (!field || el.dataset.errorFor === field || (field === "duration" && el.dataset.errorFor === "duration_seconds")) {
          el.remove();
        }
      });
      if (!field) { formError.hidden = true; formError.textContent = ""; }
    }
    function showError(field, message) {
      var input = FIELD_OF[field];
      if (field === "outcome") { input = form.querySelector(".call-outcomes"); }
      if (!input) { formError.textContent = message; formError.hidden = false; return; }
      var span = document.createElement("span");
      span.className = "field-error";
      span.setAttribute("role", "alert");
      span.dataset.errorFor = field;
      span.textContent = message;
      input.insertAdjacentElement("afterend", span);
      if (input.focus) { input.focus(); }
    }
    function parseDuration(text) {
      var t = (text || "").trim();
      if (!t) { return undefined; }
      var m = /^(?:(\d{1,3}):)?(\d{1,5})$/.exec(t);
      return m ? Number(m[1] || 0) * 60 + Number(m[2]) : null;
    }
    function showDone(message) {
      clearTimeout(doneTimer);
      doneBox.textContent = message;
      doneBox.hidden = !message;
      if (message) { doneTimer = setTimeout(function () { doneBox.hidden = true; }, 8000); }
    }
    function clearPanel() {
      callId.value = "";
      [number, nameField, question, entries, duration].forEach(function (el) { el.value = ""; delete el.dataset.touched; });
      ["caller_number", "caller_name", "question"].forEach(function (name) { mark(name, ""); });
      number.placeholder = "如 13812345678";
      var first = form.querySelector("input[name=outcome][value=answered]");
      if (first) { first.checked = true; }
      startedAt = null;
      durationTyped = false;
      timerText.textContent = "0:00";
      lastLookup = "";
      pendingUses = [];
      liveBox.hidden = true;
      transcriptBox.innerHTML = "";
      draftBox.hidden = true;
      clearError();
      renderTickets([]);
      if (search && search.resetOpened) { search.resetOpened(); }
      if (search && search.follow) { search.follow([]); }
      showIncoming();
    }
    function submit() {
      if (saving) { return; }
      syncEntries();
      if (search && search.displayedId && search.displayedId()) { addEntry(search.displayedId()); }
      if (!durationTyped && startedAt) { duration.value = fmt(elapsed()); }
      clearError();
      var checked = form.querySelector("input[name=outcome]:checked");
      var outcome = checked ? checked.value : "answered";
      // Every field sent, empty or not: the service then names what is missing in words an operator reads.
      var body = { outcome: outcome, caller_number: number.value.trim(), caller_name: nameField.value.trim(),
                   question: question.value.trim() };
      var ids = entries.value.split(/[,,\s]+/).filter(Boolean);
      if (ids.length) { body.kb_entry_ids = ids; }
      var target = panel.dataset.recordNewUrl;
      if (callId.value) {
        target = forCall(panel.dataset.recordUrl, callId.value);
      } else {
        if (!body.caller_number) { showError("caller_number", "请填写来电号码（话务平台没有送来这通电话）"); return; }
        var seconds = parseDuration(duration.value);
        if (seconds === null) { showError("duration_seconds", "通话时长格式不正确：填秒数，或“分:秒”"); return; }
        if (seconds !== undefined) { body.duration_seconds = seconds; }
      }
      saving = true;
      submitButton.disabled = true;
      postJson(target, body).then(function (res) {
        saving = false;
        submitButton.disabled = false;
        if (!res.ok) {
          var err = res.body && res.body.error ? res.body.error : { message: "保存失败（HTTP " + res.status + "）" };
          showError(err.field, err.message || "保存失败");
          return;
        }
        var call = res.body;
        var uses = pendingUses.slice();
        callId.value = call.id;
        uses.forEach(function (u) { note(u[0], u[1]); });
        // The 初步研判 the operator worked through goes onto the call first, so its ticket carries it.
        var kept = window.HotlineEligibility ? window.HotlineEligibility.keepOn(call.id) : Promise.resolve(null);
        kept.then(function () {
          if (outcome === "ticket") { window.location.href = panel.dataset.newTicketUrl + call.id; return; }
          clearPanel();
          showDone("来电已记录（" + call.outcome_label + "）。");
          if (search && search.clear) { search.clear(); }
        });
      }).catch(function () {
        saving = false;
        submitButton.disabled = false;
        showError(null, "保存失败：网络中断。填写的内容都还在，请稍后再按“记录来电”。");
      });
    }
    function record(outcome) {
      var radio = form.querySelector('input[name=outcome][value="' + outcome + '"]');
      if (radio) { radio.checked = true; }
      submit();
    }
    form.addEventListener("submit", function (ev) { ev.preventDefault(); submit(); });
    form.addEventListener("reset", function () { setTimeout(clearPanel, 0); });
    document.addEventListener("keydown", function (ev) {
      if (!ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
      if (ev.code === "KeyA") { ev.preventDefault(); if (ringing) { take(calls[ringing.id]); } }
      else if (ev.code === "KeyR") { ev.preventDefault(); record("answered"); }
      else if (ev.code === "KeyT") { ev.preventDefault(); record("ticket"); }
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
      if (current && current.disabled) { personSelect.value = ""; personSelect.dispatchEvent(new Event("change")); }
    }
    unitSelect.addEventListener("change", filter);

    root.addEventListener("click", function (ev) {
      var chip = ev.target.closest("[data-pick-user]");
      if (!chip) { return; }
      unitSelect.value = chip.dataset.pickUnit;
      filter();
      personSelect.value = chip.dataset.pickUser;
      // the type-to-filter pickers (static/picker.js) show what the selects now hold
      unitSelect.dispatchEvent(new Event("change"));
      personSelect.dispatchEvent(new Event("change"));
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
    // Ctrl+Enter confirms; an edited field filled from the transcript says so.
    form.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("input", function (ev) {
      var name = ev.target.name;
      var m = name ? form.querySelector('[data-mark-for="' + name + '"]') : null;
      if (m) { m.textContent = "来自通话转写，已修改"; m.classList.add("edited"); }
      var err = name ? form.querySelector('[data-error-for="' + name + '"]') : null;
      if (err) { err.remove(); }
    });
    var firstError = form.querySelector("[data-error-for]");
    var empty = Array.prototype.filter.call(form.querySelectorAll("[required]"), function (el) { return !el.value; })[0];
    var focus = firstError ? form.querySelector('[name="' + firstError.dataset.errorFor + '"]') : empty;
    (focus || form.querySelector("button[type=submit]")).focus();
    var township = form.querySelector("[data-township]");
    var topic = form.querySelector("[data-topic]");
    var kind = form.querySelector('select[name="kind"]');
    var root = form.querySelector("[data-owner-picker]");
    if (!township || !root) { return; }

    function refresh() {
      if (!township.value) { return; }
      var url = form.dataset.suggestUrl + "?township_id=" + encodeURIComponent(township.value) +
        "&topic=" + encodeURIComponent(topic ? topic.value : "") +
        "&kind=" + encodeURIComponent(kind ? kind.value : "");
      getJson(url).then(function (data) {
        var note = form.querySelector("[data-catalogue-note]");
        if (!note && data.catalogue) {
          note = document.createElement("p");
          note.className = "small";
          note.setAttribute("data-catalogue-note", "");
          root.parentNode.insertBefore(note, root);
        }
        if (note && data.catalogue) {  // the dispatch catalogue's unit, or that the matter is outside it
          note.textContent = data.catalogue.in_catalogue
            ? "派单目录建议：" + (data.catalogue.unit ? data.catalogue.unit.name : "（无法确定单位）") + "（" + data.catalogue.matter_text + "）"
            : data.catalogue.message;
        }
        var box = root.querySelector(".suggestions");
        if (!box) {
          box = document.createElement("div");
          box.className = "suggestions";
          root.insertBefore(box, root.firstChild);
        }
        if (!data.suggestions.length) {
          var unit = data.catalogue && data.catalogue.unit;
          box.innerHTML = '<span class="muted small">' + (unit
            ? escapeHtml(unit.name) + "还没有承办人账号：可按单位另选承办人，或先不指定，由督查人员派单"
            : "该乡镇暂无推荐的承办人，请按单位选择") + "</span>";
          return;
        }
        box.innerHTML = '<span class="muted small">推荐：</span>' + data.suggestions.map(function (s) {
          return '<button type="button" class="chip" data-pick-user="' + s.id + '" data-pick-unit="' + s.unit_id +
            '" title="' + escapeHtml(s.reason) + '">' + escapeHtml(s.name) + '<span class="muted small">·' +
            escapeHtml(s.unit) + "</span></button>";
        }).join("");
      }).catch(function () { /* suggestions are optional */ });
    }
    township.addEventListener("change", refresh);
    if (topic) { topic.addEventListener("change", refresh); }
    if (kind) { kind.addEventListener("change", refresh); }
    if (township.value && !root.querySelector(".suggestions")) { refresh(); }
  }

  callPanel();
  Array.prototype.forEach.call(document.querySelectorAll("[data-owner-picker]"), picker);
  ticketForm();
})();
