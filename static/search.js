// The operator's search page: search as you type, keyboard first, the opened entry beside the results.
// During a call the list follows the call (the assist's suggestions, each need of the caller its own
// card) until the operator types; pinned entries stay on top until unpinned.
(function () {
  "use strict";
  var desk = document.getElementById("searchdesk");
  if (!desk) { return; }
  var input = document.getElementById("q");
  var list = document.getElementById("results");
  var status = document.getElementById("status");
  var card = document.getElementById("card");
  var openedField = document.getElementById("kb-opened-ids");
  var DEBOUNCE_MS = 180;
  var timer = null;
  var latest = 0;           // sequence number of the newest request; older responses are dropped
  var controller = null;
  var results = [];
  var selected = -1;
  var sid = newSid();
  var pinnedBox = document.getElementById("pinned");
  var followBar = document.getElementById("follow-bar");
  var pinned = [];          // [{id, question}] pinned by the operator, shown above the list
  var following = [];       // the call's suggestions ([{id, question, why, need}]) while the box is empty
  var manualCard = false;   // the operator opened a card themselves: the call no longer replaces it
  var queries = [];         // what the operator searched for, for the call record's question
  var hooks = { shown: null, displayed: null };

  function newSid() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = "search-status " + (kind || "muted");
  }

  function render(data) {
    results = data.results || [];
    selected = results.length ? 0 : -1;
    list.innerHTML = "";
    results.forEach(function (r, i) {
      var li = document.createElement("li");
      li.className = "result" + (i === selected ? " selected" : "");
      li.setAttribute("role", "option");
      li.dataset.index = i;
      var hl = r.highlights || {};
      li.innerHTML =
        '<div class="result-head"><span class="result-q">' + (hl.question || escapeHtml(r.question)) + "</span>" +
        '<span class="badge">' + escapeHtml(r.category) + "</span>" +
        '<button type="button" class="linklike pin" data-pin="' + escapeHtml(r.id) + '" title="Alt+P">固定</button></div>' +
        (hl.similar ? '<div class="result-sim muted">“' + hl.similar + '”</div>' : "") +
        '<div class="result-a">' + escapeHtml(r.answer) + "</div>";
      li.addEventListener("click", function (ev) {
        if (ev.target.closest("[data-pin]")) { return; }
        select(i); open(i);
      });
      list.appendChild(li);
    });
    if (!data.query) {
      setStatus("输入后自动检索;↑↓ 选择,Enter 打开,Esc 清空");
    } else if (data.level === "out_of_scope") {
      setStatus("不在知识库：" + data.reason + "。" +
                (data.dispatch_to ? "建议派往" + data.dispatch_to + "。" : "请记录来电后派单或转办，不要猜测。"), "warn");
    } else if (!results.length) {
      setStatus("没有找到相关条目。请换个说法，或记录来电后派单处理。", "warn");
    } else if (!data.confident) {
      setStatus("可能：" + data.reason + "。请先看条目再答复" +
                (data.pair && data.pair.ask ? "；可问来电人：" + data.pair.ask : "") + "。", "warn");
    } else {
      setStatus("确定：" + data.reason + "，可照答复口径答复（" + data.took_ms + " ms）。", "ok");
    }
  }

  function search() {
    var q = input.value.trim();
    var seq = ++latest;
    if (controller) { controller.abort(); }
    if (!q) { renderFollow(); return; }
    noteQuery(q);
    controller = window.AbortController ? new AbortController() : null;
    var url = desk.dataset.searchUrl + "?q=" + encodeURIComponent(q) + "&sid=" + sid;
    fetch(url, { credentials: "same-origin", signal: controller ? controller.signal : undefined,
                 headers: { "Accept": "application/json" } })
      .then(function (resp) {
        if (resp.status === 401 || resp.redirected) { window.location.reload(); throw new Error("login"); }
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.json();
      })
      .then(function (data) { if (seq === latest) { render(data); } })
      .catch(function (err) {
        if (err.name !== "AbortError" && err.message !== "login" && seq === latest) {
          setStatus("检索失败,请稍后重试(" + err.message + ")", "warn");
        }
      });
  }

  function noteQuery(q) {
    if (q.length < 2) { return; }
    var last = queries[queries.length - 1];
    if (last && (q.indexOf(last) === 0 || last.indexOf(q) === 0)) { queries[queries.length - 1] = q; }
    else if (queries.indexOf(q) < 0) { queries.push(q); }
    document.dispatchEvent(new CustomEvent("hotline:queries", { detail: queries.slice() }));
  }

  // --- following the call ---------------------------------------------------------------------
  function renderFollow() {
    if (followBar) { followBar.hidden = true; }
    if (!following.length) { render({ query: "", results: [] }); return; }
    results = following;
    selected = 0;
    list.innerHTML = "";
    following.forEach(function (r, i) {
      var li = document.createElement("li");
      li.className = "result follow" + (i === selected ? " selected" : "") + (r.need ? " need" : "");
      li.setAttribute("role", "option");
      li.dataset.index = i;
      li.dataset.entryId = r.id;
      li.innerHTML =
        '<div class="result-head"><span class="result-q">' + escapeHtml(r.question || r.id) + "</span>" +
        '<span class="badge">' + escapeHtml(r.id) + "</span>" +
        '<button type="button" class="linklike pin" data-pin="' + escapeHtml(r.id) + '" title="Alt+P">固定</button></div>' +
        (r.need ? '<div class="result-need">诉求：' + escapeHtml(r.need) + "</div>" : "") +
        (r.why ? '<div class="result-sim muted small">' + escapeHtml(r.why) + "</div>" : "");
      li.addEventListener("click", function (ev) {
        if (ev.target.closest("[data-pin]")) { return; }
        select(i); open(i);
      });
      list.appendChild(li);
    });
    setStatus("跟随通话：按来电人所说自动推荐（" + following.length + " 条）；输入文字改为手动检索", "ok");
    var top = following[0];
    if (hooks.shown) { hooks.shown(top.id); }
    if (!manualCard && card.dataset.entryId !== top.id) { showCard(top.id, false); }
  }

  function follow(items) {
    following = (items || []).filter(function (r) { return r && r.id; });
    if (!input.value.trim()) { renderFollow(); }
    else if (followBar) { followBar.hidden = !following.length; }
  }

  function showCard(id, focusCopy) {
    card.dataset.entryId = id;
    return fetch(desk.dataset.cardUrl.replace("__ID__", encodeURIComponent(id)), { credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.text() : Promise.reject(new Error("HTTP " + resp.status)); })
      .then(function (html) {
        if (card.dataset.entryId !== id) { return; }
        card.innerHTML = html;
        if (hooks.displayed) { hooks.displayed(id); }
        var copy = card.querySelector("button.copy");
        if (copy && focusCopy) { copy.focus(); }
      });
  }

  // --- pinned entries -------------------------------------------------------------------------
  function renderPinned() {
    if (!pinnedBox) { return; }
    pinnedBox.hidden = !pinned.length;
    pinnedBox.innerHTML = pinned.length ? '<span class="muted small">已固定：</span>' + pinned.map(function (p) {
      return '<span class="pinned-entry"><button type="button" class="linklike" data-open-pinned="' + escapeHtml(p.id) +
        '">' + escapeHtml(p.id) + " " + escapeHtml(p.question) + '</button> <button type="button" class="linklike unpin" ' +
        'data-unpin="' + escapeHtml(p.id) + '" title="取消固定">×</button></span>';
    }).join("") : "";
  }

  function togglePin(id, question) {
    var at = pinned.map(function (p) { return p.id; }).indexOf(id);
    if (at >= 0) { pinned.splice(at, 1); } else { pinned.push({ id: id, question: question || "" }); }
    renderPinned();
  }

  if (pinnedBox) {
    pinnedBox.addEventListener("click", function (ev) {
      var unpin = ev.target.closest("[data-unpin]");
      var go = ev.target.closest("[data-open-pinned]");
      if (unpin) { togglePin(unpin.dataset.unpin); }
      else if (go) { openId(go.dataset.openPinned); }
    });
  }
  list.addEventListener("click", function (ev) {
    var pin = ev.target.closest("[data-pin]");
    if (!pin) { return; }
    var r = results.filter(function (x) { return x.id === pin.dataset.pin; })[0];
    togglePin(pin.dataset.pin, r ? r.question : "");
  });

  function backToCall() {
    input.value = "";
    renderFollow();
  }

  function select(i) {
    if (!results.length) { return; }
    selected = (i + results.length) % results.length;
    Array.prototype.forEach.call(list.children, function (li, j) {
      li.classList.toggle("selected", j === selected);
      if (j === selected) { li.scrollIntoView({ block: "nearest" }); }
    });
  }

  function open(i) {
    var r = results[i];
    if (r) { openId(r.id); }
  }

  function openId(id) {
    manualCard = true;
    showCard(id, true)
      .then(function () {
        var ids = openedField.value ? openedField.value.split(",") : [];
        if (ids.indexOf(id) < 0) { ids.push(id); }
        openedField.value = ids.join(",");
        openedField.dispatchEvent(new Event("change", { bubbles: true }));
      })
      .catch(function (err) { setStatus("打开条目失败(" + err.message + ")", "warn"); });
    var body = new FormData();
    body.append("sid", sid);
    body.append("id", id);
    body.append("csrf_token", desk.dataset.csrf);
    fetch(desk.dataset.openedUrl, { method: "POST", body: body, credentials: "same-origin" });
  }

  function clear() {
    input.value = "";
    sid = newSid();
    renderFollow();
    input.focus();
  }

  input.addEventListener("input", function () {
    if (followBar) { followBar.hidden = !following.length || !input.value.trim(); }
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { event.preventDefault(); select(selected + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); select(selected - 1); }
    else if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(timer);
      if (selected >= 0) { open(selected); } else { search(); }
    } else if (event.key === "Escape") { event.preventDefault(); clear(); }
  });
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    var typing = tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
    if (event.key === "/" && !typing) { event.preventDefault(); input.focus(); input.select(); }
    if (event.key === "Escape" && !typing) { clear(); }
    if (event.altKey && !event.ctrlKey && event.code === "KeyF") { event.preventDefault(); backToCall(); }
    if (event.altKey && !event.ctrlKey && event.code === "KeyP" && results[selected]) {
      event.preventDefault();
      togglePin(results[selected].id, results[selected].question);
    }
  });
  if (followBar) {
    followBar.addEventListener("click", function (ev) { if (ev.target.closest("[data-follow]")) { backToCall(); } });
  }
  window.HotlineSearch = {
    clear: clear, open: openId, openedIds: function () { return openedField.value; },
    follow: follow, onShown: function (fn) { hooks.shown = fn; }, onDisplayed: function (fn) { hooks.displayed = fn; },
    displayedId: function () { return card.querySelector(".card-entry") ? card.dataset.entryId || "" : ""; },
    queries: function () { return queries.slice(); },
    resetOpened: function () {
      openedField.value = "";
      queries = [];
      manualCard = false;
      following = [];
      if (!input.value.trim()) { renderFollow(); }
    }
  };
  if (input.value.trim()) { search(); }
})();
