// The navigation's alerts: the unread badge follows the notifications stream (server-sent events,
// static/sse.js) and polls while the stream is down.
// A new ticket, co-handling task or overdue ticket pops a toast and plays a short tone made with the Web
// Audio API (no audio file); the tone can be switched off, a choice kept in this browser's localStorage
// for this user. Plain JavaScript, no libraries.
(function () {
  "use strict";

  var link = document.getElementById("alerts");
  if (!link) { return; }
  var count = link.querySelector("[data-alert-count]");
  var toast = document.getElementById("alert-toast");
  var soundButton = document.getElementById("alert-sound");
  var ticketUrl = link.dataset.ticketUrl.replace(/0$/, "");
  var latest = Number(link.dataset.latestId) || 0;
  var soundKey = "hotline.alertSound." + link.dataset.userId;
  var pollTimer = null;
  var toastTimer = null;
  var audio = null;

  function csrf() { return window.Hotline ? window.Hotline.csrfToken() : ""; }

  // --- the sound, and its switch ---
  function soundOn() {
    try { return window.localStorage.getItem(soundKey) !== "off"; } catch (err) { return true; }
  }
  function showSound() {
    var on = soundOn();
    soundButton.textContent = on ? "提示音：开" : "提示音：关";
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
  }
  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return null; }
    if (!audio) { audio = new Ctx(); }
    if (audio.state === "suspended") { audio.resume(); }
    return audio;
  }
  // Browsers start audio only after the person has touched the page: the first click or key unlocks it.
  function unlock() {
    context();
    document.removeEventListener("pointerdown", unlock);
    document.removeEventListener("keydown", unlock);
  }
  document.addEventListener("pointerdown", unlock);
  document.addEventListener("keydown", unlock);
  function tone(ctx, freq, start, length) {
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(start);
    osc.stop(start + length + 0.02);
  }
  function chime() {
    if (!soundOn()) { return; }
    var ctx = context();
    if (!ctx) { return; }
    tone(ctx, 880, ctx.currentTime, 0.15);
    tone(ctx, 1175, ctx.currentTime + 0.18, 0.22);
    link.dataset.chimes = String((Number(link.dataset.chimes) || 0) + 1);
  }
  soundButton.addEventListener("click", function () {
    try { window.localStorage.setItem(soundKey, soundOn() ? "off" : "on"); } catch (err) { /* kept for this page only */ }
    showSound();
    if (soundOn()) { chime(); }
  });
  showSound();

  // --- the badge and the toast ---
  function setUnread(n) {
    count.textContent = String(n);
    count.hidden = !n;
    link.dataset.unread = String(n);
  }
  function pop(n) {
    toast.textContent = "";
    var label = document.createElement("strong");
    label.textContent = n.label + "：";
    toast.appendChild(label);
    var text = document.createElement(n.ticket_id ? "a" : "span");
    text.textContent = n.message;
    if (n.ticket_id) { text.href = ticketUrl + n.ticket_id; }
    toast.appendChild(text);
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; }, 15000);
  }
  function arrived(n) {
    if (n.id <= latest) { return; }
    latest = n.id;
    if (n.alert) { pop(n); chime(); }
  }

  // --- polling, while the stream is down ---
  function poll() {
    if (document.hidden) { return; }
    fetch(link.dataset.pollUrl + "?after=" + latest, {
      credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRFToken": csrf() }
    }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.json();
    }).then(function (data) {
      (data.notifications || []).forEach(arrived);
      setUnread(data.unread || 0);
    }).catch(function () { /* try again on the next tick */ });
  }
  function startPolling() { if (!pollTimer) { poll(); pollTimer = setInterval(poll, 10000); } }
  function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

  // --- the stream (static/sse.js) ---
  window.HotlineStream.open(link.dataset.streamUrl, {
    live: function (up) {
      link.dataset.live = up ? "1" : "";
      if (up) { stopPolling(); } else { startPolling(); }
    },
    event: function (event, payload) {
      if (event === "notification") { arrived(payload); } else if (event === "unread") { setUnread(payload.unread); }
    }
  });
})();
