// The operator's search page: search as you type, keyboard first, the opened entry beside the results.
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
        '<span class="badge">' + escapeHtml(r.category) + "</span></div>" +
        (hl.similar ? '<div class="result-sim muted">“' + hl.similar + '”</div>' : "") +
        '<div class="result-a">' + escapeHtml(r.answer) + "</div>";
      li.addEventListener("click", function () { select(i); open(i); });
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
    if (!q) { render({ query: "", results: [] }); return; }
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
    if (!r) { return; }
    fetch(desk.dataset.cardUrl.replace("__ID__", encodeURIComponent(r.id)), { credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.text() : Promise.reject(new Error("HTTP " + resp.status)); })
      .then(function (html) {
        card.innerHTML = html;
        var ids = openedField.value ? openedField.value.split(",") : [];
        if (ids.indexOf(r.id) < 0) { ids.push(r.id); }
        openedField.value = ids.join(",");
        openedField.dispatchEvent(new Event("change", { bubbles: true }));
        var copy = card.querySelector("button.copy");
        if (copy) { copy.focus(); }
      })
      .catch(function (err) { setStatus("打开条目失败(" + err.message + ")", "warn"); });
    var body = new FormData();
    body.append("sid", sid);
    body.append("id", r.id);
    body.append("csrf_token", desk.dataset.csrf);
    fetch(desk.dataset.openedUrl, { method: "POST", body: body, credentials: "same-origin" });
  }

  function clear() {
    input.value = "";
    sid = newSid();
    render({ query: "", results: [] });
    input.focus();
  }

  input.addEventListener("input", function () {
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
  });
  window.HotlineSearch = { clear: clear, openedIds: function () { return openedField.value; },
                           resetOpened: function () { openedField.value = ""; } };
  if (input.value.trim()) { search(); }
})();
