// 初步研判 in the call panel: the household form asks only what the undecided programmes still need, in the
// order the server ranks (the question that settles most programmes first), pre-filled from the caller's
// words; the verdicts follow every answer. Plain JavaScript, no libraries; the server does all the judging.
(function () {
  "use strict";

  var root = document.getElementById("elig-panel");
  if (!root) { return; }
  function $(id) { return document.getElementById(id); }
  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }
  var body = $("elig-body");
  var toggle = $("elig-toggle");
  var membersBox = $("elig-members");
  var questionsBox = $("elig-questions");
  var knownBox = $("elig-known");
  var knownHead = $("elig-known-head");
  var errorBox = $("elig-error");
  var resultsBox = $("elig-results");
  var saveButton = $("elig-save");
  var savedText = $("elig-saved");

  var RELATIONS = [["self", "本人"], ["spouse", "配偶"], ["child", "子女"], ["parent", "父母"], ["grandparent", "祖父母"],
                   ["grandchild", "孙辈"], ["sibling", "兄弟姐妹"], ["other", "其他"]];
  var YES_NO = [["", "不清楚"], ["yes", "是"], ["no", "否"]];
  var KINDS = [["physical", "肢体"], ["intellectual", "智力"], ["mental", "精神"], ["visual", "视力"], ["hearing", "听力"],
               ["speech", "言语"], ["multiple", "多重"]];
  var GRADES = ["一", "二", "三", "四"];
  var DISABILITY = [["", "无/不清楚"]].concat([].concat.apply([], KINDS.map(function (k) {
    return GRADES.map(function (g, i) { return [k[0] + ":" + (i + 1), k[1] + g + "级"]; });
  })));
  var SUPPORTERS = [["", "不清楚"], ["none", "没有"], ["unable", "有，但都没有能力"], ["able", "有，有能力"],
                    ["unknown", "有，能力不清楚"]];
  var EVENTS = [["fire", "火灾"], ["traffic_accident", "车祸"], ["sudden_illness", "急病住院"],
                ["large_medical_bill", "大额医疗费"], ["other_emergency", "其他急难"], ["none", "都没有"]];
  var BENEFITS = [["dibao", "低保"], ["dibao_edge", "低保边缘"], ["tekun", "特困供养"], ["disability_living", "残疾人生活补贴"],
                  ["disability_care", "护理补贴"], ["elderly_allowance", "高龄津贴"]];
  // Each group of the form: the facts the server names it by, a short title, and how it is entered.
  var GROUPS = {
    hukou: { title: "户口", kind: "select", options: [["", "不清楚"], ["urban", "城市户口"], ["rural", "农村户口"]] },
    monthly_income_per_capita: { title: "人均月收入", kind: "number", unit: "元/人·月" },
    assets: { title: "房车存款", kind: "select",
              options: [["", "不清楚"], ["within_limits", "没有（在规定内）"], ["above_limits", "有（超过规定）"]] },
    legal_supporters: { title: "赡养（抚养）人", kind: "select", options: SUPPORTERS,
                        facts: ["legal_supporters", "legal_supporters[].able_to_support"] },
    current_benefits: { title: "已在享受", kind: "checks", options: BENEFITS },
    events: { title: "最近遭遇", kind: "checks", options: EVENTS },
    housing_difficulty: { title: "住房困难", kind: "select", options: YES_NO },
    stranded_away_from_home: { title: "在外地遇困", kind: "select", options: YES_NO },
    age: { title: "年龄", kind: "number", unit: "岁", member: true },
    disability: { title: "残疾", kind: "select", options: DISABILITY, member: true },
    serious_illness: { title: "重病", kind: "select", options: YES_NO, member: true },
    can_work: { title: "能劳动", kind: "select", options: YES_NO, member: true },
    student: { title: "在校", kind: "select", options: YES_NO, member: true },
    deceased: { title: "去世", kind: "select", options: YES_NO, member: true },
    missing_months: { title: "失联月数", kind: "number", unit: "个月", member: true },
    in_prison_months: { title: "服刑月数", kind: "number", unit: "个月", member: true }
  };
  var VERDICTS = [["likely", "可能符合"], ["need_info", "还需了解"], ["unlikely", "不太符合"]];

  var form = {};        // group key -> the value entered ("" when not known)
  var members = [];     // [{relation, age, disability, ...}] as entered
  var marks = {};       // "group" or "group:i" -> the caller's words it was filled from
  var touched = {};     // what the operator typed or changed: the transcript never overwrites it
  var questions = [];   // the server's ranking: [{fact, label, programs, decides}]
  var labels = JSON.parse(root.dataset.factLabels || "{}");  // fact -> its question, for "missing" lists
  var callSeen = null;
  var changed = false;  // the household differs from the last check saved on the call
  var timer = null;
  var asked = 0;

  function groupOf(fact) {
    if (fact.indexOf("members[].") === 0) { return fact.slice(10); }
    for (var key in GROUPS) {
      if ((GROUPS[key].facts || [key]).indexOf(fact) >= 0) { return key; }
    }
    return null;
  }
  // “4个项目在等这项，一问大约能定下3项”: whole programmes, as an operator counts them (the score is an average).
  function waitingText(q) {
    var settles = Math.round(q.decides);
    return q.programs.length + "个项目在等这项" + (settles >= 1 ? "，一问大约能定下" + settles + "项" : "");
  }
  function callId() { var el = $("call-id"); return el ? el.value : ""; }

  function reset() {
    form = {}; members = [{ relation: "self" }]; marks = {}; touched = {}; questions = []; changed = false;
    resultsBox.innerHTML = ""; savedText.textContent = ""; showError(null, "");
  }

  // --- the household as JSON, from what is entered ---
  function num(text) { var t = String(text == null ? "" : text).trim(); return t === "" ? null : Number(t); }
  function yesNo(v) { return v === "yes" ? true : v === "no" ? false : null; }
  function household() {
    var h = { members: members.map(function (m) {
      var d = m.disability ? m.disability.split(":") : null;
      return { relation: m.relation, age: num(m.age), disability: d ? { kind: d[0], grade: Number(d[1]) } : null,
               serious_illness: yesNo(m.serious_illness), can_work: yesNo(m.can_work), student: yesNo(m.student),
               deceased: yesNo(m.deceased), missing_months: num(m.missing_months),
               in_prison_months: num(m.in_prison_months) };
    }) };
    if (form.hukou) { h.hukou = form.hukou; }
    if (num(form.monthly_income_per_capita) !== null) { h.monthly_income_per_capita = num(form.monthly_income_per_capita); }
    if (form.assets) { h.assets = form.assets; }
    var s = form.legal_supporters;
    if (s) { h.legal_supporters = s === "none" ? [] : [{ able_to_support: s === "able" ? true : s === "unable" ? false : null }]; }
    h.current_benefits = form.current_benefits || [];
    var ev = form.events || [];
    if (ev.length) { h.events = ev.filter(function (e) { return e !== "none"; }); }
    ["housing_difficulty", "stranded_away_from_home"].forEach(function (k) {
      if (yesNo(form[k]) !== null) { h[k] = yesNo(form[k]); }
    });
    // Numbers typed as words ("七十") or not numbers at all go to the server as typed: it names the field.
    h.members.forEach(function (m, i) {
      ["age", "missing_months", "in_prison_months"].forEach(function (k) {
        if (m[k] !== null && isNaN(m[k])) { m[k] = members[i][k]; }
      });
    });
    if (h.monthly_income_per_capita !== undefined && isNaN(h.monthly_income_per_capita)) {
      h.monthly_income_per_capita = form.monthly_income_per_capita;
    }
    return h;
  }

  // --- the facts heard in the caller's words fill what the operator has not touched ---
  function callerWords() {
    var words = Array.prototype.map.call(document.querySelectorAll("#call-transcript li.seg-caller"), function (li) {
      var who = li.querySelector(".who");
      return li.textContent.slice(who ? who.textContent.length : 0);
    }).join("，");
    var question = $("call-question");
    return words || (question ? question.value : "");
  }
  function prefill(heard) {
    var h = heard.household || {};
    var sources = {};
    (heard.sources || []).forEach(function (s) { sources[s.fact] = s.text; });
    if (h.members && !touched.members) {
      members = h.members.map(function (m, i) {
        var row = { relation: m.relation, age: m.age == null ? "" : String(m.age) };
        if (m.disability) { row.disability = m.disability.kind + ":" + m.disability.grade; }
        if (sources["members[" + i + "].age"]) { marks["age:" + i] = sources["members[" + i + "].age"]; }
        if (m.disability && sources["members[].disability"]) { marks["disability:" + i] = sources["members[].disability"]; }
        return row;
      });
    }
    function fill(key, value, fact) {
      if (touched[key] || value === undefined) { return; }
      form[key] = value;
      if (sources[fact || key]) { marks[key] = sources[fact || key]; }
    }
    fill("hukou", h.hukou);
    if (h.monthly_income_per_capita != null) { fill("monthly_income_per_capita", String(h.monthly_income_per_capita)); }
    if (h.events) { fill("events", h.events.length ? h.events : ["none"]); }
    if (h.legal_supporters) {
      fill("legal_supporters", h.legal_supporters.some(function (s) { return s.able_to_support; }) ? "able" : "unable");
    }
  }

  // --- drawing the form: members, then the questions in the server's order, then what is known ---
  function options(list, value) {
    return list.map(function (o) {
      return '<option value="' + esc(o[0]) + '"' + (String(value || "") === o[0] ? " selected" : "") + ">" + esc(o[1]) + "</option>";
    }).join("");
  }
  function markHtml(key) {
    return marks[key] ? ' <span class="from-transcript" title="来电人说：' + esc(marks[key]) + '">来自通话转写：' +
      esc(marks[key]) + "</span>" : "";
  }
  function widget(key, value, path, label) {
    var g = GROUPS[key];
    var attrs = ' data-key="' + esc(path) + '" aria-label="' + esc(label) + '"';
    if (g.kind === "select") { return "<select" + attrs + ">" + options(g.options, value) + "</select>"; }
    if (g.kind === "number") {
      return '<input type="text" inputmode="decimal" size="6"' + attrs + ' value="' + esc(value == null ? "" : value) +
        '"> <span class="muted small">' + g.unit + "</span>";
    }
    return g.options.map(function (o) {
      return '<label class="check"><input type="checkbox" data-key="' + esc(path) + '" value="' + o[0] + '"' +
        ((value || []).indexOf(o[0]) >= 0 ? " checked" : "") + "> " + esc(o[1]) + "</label>";
    }).join(" ");
  }
  function who(i) {
    var m = members[i];
    var name = RELATIONS.filter(function (r) { return r[0] === m.relation; })[0];
    return (name ? name[1] : "成员") + (members.length > 1 ? "（第" + (i + 1) + "位）" : "");
  }
  function groupHtml(key) {
    var g = GROUPS[key];
    if (!g.member) { return widget(key, form[key], key, g.title) + markHtml(key); }
    return members.map(function (m, i) {
      return '<span class="elig-member-field">' + esc(who(i)) + " " + widget(key, m[key], key + ":" + i, who(i) + g.title) +
        markHtml(key + ":" + i) + "</span>";
    }).join(" ");
  }
  function hasValue(key) {
    var g = GROUPS[key];
    if (g.member) { return members.some(function (m) { return m[key] !== undefined && m[key] !== ""; }); }
    var v = form[key];
    return Array.isArray(v) ? v.length > 0 : !!v;
  }
  function drawMembers() {
    membersBox.innerHTML = '<span class="elig-h">家庭成员</span> ' + members.map(function (m, i) {
      return '<span class="elig-member"><select data-key="relation:' + i + '" aria-label="第' + (i + 1) + '位成员与来电人的关系">' +
        options(RELATIONS, m.relation) + '</select><button type="button" class="linklike" data-remove="' + i +
        '" title="去掉这位成员">×</button></span>';
    }).join(" ") + ' <button type="button" class="linklike" data-add>＋添加成员</button>';
  }
  function draw() {
    var focused = document.activeElement && root.contains(document.activeElement) ? document.activeElement : null;
    var focusKey = focused ? (focused.dataset.key || "") + "|" + (focused.value && focused.type === "checkbox" ? focused.value : "") : "";
    drawMembers();
    var shown = {};
    questionsBox.innerHTML = questions.map(function (q) {
      var key = groupOf(q.fact);
      if (!key || shown[key]) { return ""; }
      shown[key] = true;
      return '<li data-group="' + key + '"><span class="elig-q">' + esc(q.label) + '</span> <span class="muted small">' +
        waitingText(q) + "</span><br>" + groupHtml(key) + "</li>";
    }).join("") || '<li class="muted">暂时没有要问的了。</li>';
    var known = Object.keys(GROUPS).filter(function (key) { return !shown[key] && hasValue(key); });
    knownHead.hidden = !known.length;
    knownBox.innerHTML = known.map(function (key) {
      return '<div class="elig-known-row" data-group="' + key + '"><span class="elig-q">' + GROUPS[key].title + "</span> " +
        groupHtml(key) + "</div>";
    }).join("");
    if (focusKey) {
      var parts = focusKey.split("|");
      var again = Array.prototype.filter.call(root.querySelectorAll("[data-key]"), function (el) {
        return el.dataset.key === parts[0] && (!parts[1] || el.value === parts[1]);
      })[0];
      if (again) { again.focus(); }
    }
  }
  function firstQuestionField() {
    // The top question's first field still empty (a group of boxes counts as one field).
    var fields = Array.prototype.filter.call(questionsBox.querySelectorAll("li:first-child [data-key]"), function (el) {
      return el.type === "checkbox" || !el.value;
    });
    return fields[0] || questionsBox.querySelector("[data-key]") || saveButton;
  }

  // --- the verdicts ---
  function missingText(fact) {
    if (fact.indexOf("parameter:") === 0) { return "本地参数“" + fact.slice(10) + "”未设置（请管理员设置）"; }
    return labels[fact] || fact;
  }
  function entryLinks(ids) {
    return ids.map(function (id) {
      return '<a href="' + esc(root.dataset.entryUrl.replace("__ID__", encodeURIComponent(id))) + '" target="_blank" data-elig-entry="' +
        esc(id) + '">' + esc(id) + "</a>";
    }).join("、");
  }
  function drawResults(data) {
    resultsBox.innerHTML = VERDICTS.map(function (v) {
      var rows = data.programs.filter(function (p) { return p.verdict === v[0]; });
      if (!rows.length) { return ""; }
      return '<div class="elig-group elig-' + v[0] + '"><h4>' + v[1] + "（" + rows.length + "项）</h4>" + rows.map(function (p) {
        var reason = v[0] === "need_info" ? p.reasons.join("；") : p.reasons[0];
        return '<article class="elig-card" data-program="' + esc(p.program) + '" data-verdict="' + v[0] + '"><strong>' +
          esc(p.name) + '</strong> <span class="badge ' + (v[0] === "likely" ? "good" : v[0] === "unlikely" ? "" : "warn") +
          '">' + v[1] + "</span><p>" + esc(reason) + "</p>" +
          (p.missing.length ? '<p class="small">还需了解：' + esc(p.missing.map(missingText).join("；")) + "</p>" : "") +
          (v[0] !== "unlikely" ? '<p class="small">到哪里申请：' + esc(p.where) + "<br>准备材料：" + esc(p.materials) + "</p>" : "") +
          (p.entry_ids.length ? '<p class="small">答复口径：' + entryLinks(p.entry_ids) + "</p>" : "") +
          '<p class="elig-card-notice small">' + esc(p.notice || data.notice) + "</p></article>";
      }).join("") + "</div>";
    }).join("");
  }

  // --- talking to the server ---
  function post(url, payload, key) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json",
                    "X-CSRFToken": window.Hotline ? window.Hotline.csrfToken() : "" };
    if (key) { headers["Idempotency-Key"] = key; }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: JSON.stringify(payload) })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          return { ok: resp.ok, status: resp.status, body: data };
        });
      });
  }
  function showError(field, message) {
    Array.prototype.forEach.call(root.querySelectorAll(".field-error[data-elig-error]"), function (el) { el.remove(); });
    errorBox.hidden = !message;
    errorBox.textContent = message || "";
    if (!message || !field) { return; }
    // household.members.0.age → the field "age:0"; household.hukou → "hukou"
    var parts = field.replace(/^household\.?/, "").split(".");
    var key = parts[0] === "members" && parts.length > 2 ? parts[2] + ":" + parts[1] : parts[0];
    var input = root.querySelector('[data-key="' + key + '"]');
    if (input) {
      var span = document.createElement("span");
      span.className = "field-error";
      span.dataset.eligError = "1";
      span.textContent = message;
      input.insertAdjacentElement("afterend", span);
    }
  }
  function assess(then) {
    var n = ++asked;
    changed = true;
    post(root.dataset.assessUrl, { household: household() }).then(function (res) {
      if (n !== asked) { return; }
      if (!res.ok) {
        var err = (res.body && res.body.error) || { message: "研判失败（HTTP " + res.status + "）" };
        resultsBox.classList.add("stale");
        showError(err.field, err.message);
        return;
      }
      resultsBox.classList.remove("stale");
      questions = res.body.questions;
      questions.forEach(function (q) { labels[q.fact] = q.label; });
      draw();
      showError(null, "");
      drawResults(res.body);
      if (then) { then(); }
    }).catch(function () { showError(null, "研判失败：网络中断，稍后会再试。"); });
  }
  function later() { clearTimeout(timer); timer = setTimeout(function () { assess(); }, 250); }

  function save() {
    var id = callId();
    if (!id) { savedText.textContent = "这通电话还没有来电记录：按“记录来电”时会一并保存这份研判。"; return; }
    saveButton.disabled = true;
    var key = "elig-" + id + "-" + Date.now() + "-" + Math.random().toString(36).slice(2);
    post(root.dataset.saveUrl.replace(/\/0\//, "/" + id + "/"), { household: household() }, key).then(function (res) {
      saveButton.disabled = false;
      if (!res.ok) {
        var err = (res.body && res.body.error) || { message: "保存失败（HTTP " + res.status + "）" };
        savedText.textContent = "";
        showError(err.field, err.message);
        return;
      }
      showError(null, "");
      changed = false;
      var at = new Date(res.body.checked_at);
      savedText.textContent = "已保存到来电（" + at.getHours() + ":" + ("0" + at.getMinutes()).slice(-2) +
        "），转工单时会带入工单。";
    }).catch(function () { saveButton.disabled = false; savedText.textContent = "保存失败：网络中断，请再按一次。"; });
  }

  // --- what the operator does ---
  function setValue(el) {
    var key = el.dataset.key;
    var at = key.indexOf(":");
    var group = at < 0 ? key : key.slice(0, at);
    delete marks[key];
    if (group === "relation") {
      members[Number(key.slice(at + 1))].relation = el.value;
      touched.members = true;
    } else if (at >= 0) {
      members[Number(key.slice(at + 1))][group] = el.value;
      touched.members = true;
    } else if (GROUPS[group].kind === "checks") {
      var checked = Array.prototype.filter.call(root.querySelectorAll('[data-key="' + key + '"]:checked'), function (c) {
        return c.value !== "none" || el.value === "none";
      }).map(function (c) { return c.value; });
      form[group] = el.value === "none" && el.checked ? ["none"] : checked.filter(function (v) { return v !== "none"; });
    } else {
      form[group] = el.value;
    }
    touched[key] = true;
    savedText.textContent = "";
  }
  body.addEventListener("change", function (ev) {
    if (!ev.target.dataset.key) { return; }
    setValue(ev.target);
    if (ev.target.dataset.key.indexOf("relation") === 0) { draw(); }
    later();
  });
  body.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || !ev.target.dataset || !ev.target.dataset.key || ev.altKey || ev.ctrlKey) { return; }
    ev.preventDefault();
    setValue(ev.target);
    clearTimeout(timer);
    var answered = ev.target.dataset.key;
    assess(function () {
      var next = firstQuestionField();
      if (next && next.dataset && next.dataset.key === answered) { next = saveButton; }
      next.focus();
    });
  });
  body.addEventListener("click", function (ev) {
    var remove = ev.target.closest("[data-remove]");
    var link = ev.target.closest("[data-elig-entry]");
    if (ev.target.closest("[data-add]")) {
      members.push({ relation: "other" });
      touched.members = true;
      draw();
      var added = root.querySelector('[data-key="relation:' + (members.length - 1) + '"]');
      if (added) { added.focus(); }
      later();
    } else if (remove) {
      members.splice(Number(remove.dataset.remove), 1);
      Object.keys(marks).forEach(function (k) { if (/:\d+$/.test(k)) { delete marks[k]; } });
      touched.members = true;
      draw();
      later();
    } else if (link && window.HotlineSearch && window.HotlineSearch.open) {
      ev.preventDefault();
      window.HotlineSearch.open(link.dataset.eligEntry);  // the entry opens in the card beside the call
    }
  });
  saveButton.addEventListener("click", save);
  // Recording the call keeps what the panel holds (unless it shows an error or was saved as it stands): a
  // call typed by hand has no record until 记录来电, so 保存 could not, and its ticket would carry nothing.
  window.HotlineEligibility = {
    keepOn: function (id) {
      var entered = callSeen !== null && (Object.keys(touched).length || Object.keys(marks).length);
      var key = "elig-" + id + "-" + Date.now() + "-" + Math.random().toString(36).slice(2);
      var saving = id && entered && errorBox.hidden && changed
        ? post(root.dataset.saveUrl.replace(/\/0\//, "/" + id + "/"), { household: household() }, key)
          .catch(function () { return null; })
        : Promise.resolve(null);
      // The household belonged to that call: the next call's panel starts empty.
      return saving.then(function (res) { callSeen = null; changed = false; return res; });
    }
  };

  function open() {
    if (callSeen !== callId() || !members.length) { reset(); callSeen = callId(); }
    body.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    var words = callerWords();
    var heard = words ? post(root.dataset.heardUrl, { text: words.slice(-20000) }) : Promise.resolve(null);
    heard.then(function (res) {
      if (res && res.ok) { prefill(res.body); }
      draw();
      assess(function () { firstQuestionField().focus(); });
    }).catch(function () { draw(); assess(); });
  }
  function close() {
    body.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
  }
  toggle.addEventListener("click", function () { if (body.hidden) { open(); } else { close(); } });
  // Alt+E: open the panel (or close it from inside); Alt+A/R/T/P/F and Ctrl+Enter stay the call panel's.
  document.addEventListener("keydown", function (ev) {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey || ev.code !== "KeyE") { return; }
    ev.preventDefault();
    if (!body.hidden && root.contains(document.activeElement)) { close(); toggle.focus(); } else { open(); }
  });
  reset();
})();
