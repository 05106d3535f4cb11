// Type-to-filter pickers: a long <select> (units, townships, people: more than LONG options, or marked
// data-picker) gets a text box above a filtered list, so no one scrolls 200 items. Type part of the name
// or its pinyin initials (an option's data-py, computed on the server: 紫来街道 → zljd), move with the
// arrows, choose with Enter or a click, Escape to leave it as it was. The <select> stays in the form and
// holds the value; without JavaScript it is the plain select. Options another script disables (the
// unit → person filter) are not offered; a script that sets the select's value fires "change" to show it.
(function () {
  "use strict";

  var LONG = 20;
  var SHOWN = 60;
  var serial = 0;

  function norm(text) { return (text || "").toLowerCase().replace(/\s+/g, ""); }

  function choices(select) {
    return Array.prototype.filter.call(select.options, function (opt) {
      return !opt.disabled && !opt.hidden;
    }).map(function (opt) {
      var group = opt.parentNode && opt.parentNode.tagName === "OPTGROUP" ? opt.parentNode.label : "";
      return { option: opt, text: opt.text.trim(), group: group,
               haystack: norm(opt.text + group), py: norm(opt.dataset.py) };
    });
  }

  function matches(choice, terms) {
    return terms.every(function (term) {
      return choice.haystack.indexOf(term) >= 0 || (choice.py && choice.py.indexOf(term) >= 0);
    });
  }

  function enhance(select) {
    if (select.dataset.pickerReady) { return; }
    select.dataset.pickerReady = "1";
    serial += 1;
    var box = document.createElement("div");
    box.className = "picker";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "picker-input";
    input.autocomplete = "off";
    input.placeholder = "输入名称或拼音首字母筛选";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    var list = document.createElement("ul");
    list.className = "picker-list";
    list.id = "picker-list-" + serial;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("aria-controls", list.id);
    if (select.id) { input.id = select.id + "-picker"; }
    if (select.required) {  // the text box is what the person fills; a hidden select cannot show the warning
      select.required = false;
      input.required = true;
    }
    select.parentNode.insertBefore(box, select);
    box.appendChild(input);
    box.appendChild(list);
    box.appendChild(select);
    select.classList.add("picker-source");
    select.tabIndex = -1;

    var shown = [];
    var active = -1;

    function current() {
      var opt = select.selectedOptions[0];
      return opt && opt.value ? opt.text.trim() : "";
    }
    function sync() { input.value = current(); }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function highlight(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (li, n) {
        var on = n === i;
        li.classList.toggle("active", on);
        li.setAttribute("aria-selected", on ? "true" : "false");
        if (on) { input.setAttribute("aria-activedescendant", li.id); li.scrollIntoView({ block: "nearest" }); }
      });
    }
    function render() {
      var terms = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var all = choices(select);
      var found = terms.length ? all.filter(function (c) { return matches(c, terms); }) : all;
      shown = found.slice(0, SHOWN);
      list.textContent = "";
      shown.forEach(function (c, n) {
        var li = document.createElement("li");
        li.id = list.id + "-" + n;
        li.setAttribute("role", "option");
        li.textContent = c.text + (c.group ? " · " + c.group : "");
        li.dataset.value = c.option.value;
        list.appendChild(li);
      });
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "empty";
        none.textContent = "没有匹配的选项";
        list.appendChild(none);
      } else if (found.length > shown.length) {
        var more = document.createElement("li");
        more.className = "empty";
        more.textContent = "还有" + (found.length - shown.length) + "项，请再输入几个字";
        list.appendChild(more);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(shown.length ? 0 : -1);
    }
    function choose(choice) {
      var changed = select.value !== choice.option.value;
      select.value = choice.option.value;
      sync();
      close();
      if (changed) { select.dispatchEvent(new Event("change", { bubbles: true })); }
    }

    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("input", render);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (list.hidden) { render(); return; }
        if (!shown.length) { return; }
        var step = ev.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + shown.length) % shown.length);
      } else if (ev.key === "Enter") {
        if (!list.hidden && shown[active]) { ev.preventDefault(); choose(shown[active]); }
      } else if (ev.key === "Escape") {
        if (!list.hidden) { ev.preventDefault(); sync(); close(); }
      }
    });
    // mousedown, not click: it comes before the text box loses focus
    list.addEventListener("mousedown", function (ev) {
      var li = ev.target.closest("li[data-value]");
      if (!li) { return; }
      ev.preventDefault();
      var choice = shown.filter(function (c) { return c.option.value === li.dataset.value; })[0];
      if (choice) { choose(choice); }
    });
    input.addEventListener("blur", function () {
      if (!input.value.trim() && select.value && select.querySelector('option[value=""]')) {
        select.value = "";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      sync();
      close();
    });
    select.addEventListener("change", sync);
    if (select.form) { select.form.addEventListener("reset", function () { setTimeout(sync, 0); }); }
    sync();
  }

  function enhanceAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("select"), function (select) {
      if (select.multiple) { return; }
      if (select.hasAttribute("data-picker") || select.options.length > LONG) { enhance(select); }
    });
  }

  window.HotlinePicker = { enhance: enhance, enhanceAll: enhanceAll };
  enhanceAll(document);
})();
