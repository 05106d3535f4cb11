// One server-sent events stream read with fetch() (EventSource cannot send the API's X-CSRFToken header).
// HotlineStream.open(url, {event: function (name, data), live: function (up)}) connects, hands each event's
// JSON to `event`, says when the stream goes up or down (the page polls while it is down), reconnects at
// once after the server's planned `bye` and with a growing delay (the server's `retry:`) after a failure.
(function () {
  "use strict";

  function open(url, on) {
    var retry = 3000;
    var fails = 0;

    function deliver(block) {
      var event = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") { return; }
        var at = line.indexOf(":");
        var field = at < 0 ? line : line.slice(0, at);
        var value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
        if (field === "event") { event = value; } else if (field === "data") { data.push(value); }
        else if (field === "retry" && /^\d+$/.test(value)) { retry = Number(value); }
      });
      if (!data.length) { return event; }
      var payload;
      try { payload = JSON.parse(data.join("\n")); } catch (err) { return event; }
      on.event(event, payload);
      return event;
    }
    function reconnect(planned) {
      if (planned) { setTimeout(connect, 100); return; }  // the server ended the connection's lifetime
      on.live(false);
      fails += 1;
      setTimeout(connect, Math.min(retry * fails, 60000));
    }
    function connect() {
      if (!(window.fetch && window.ReadableStream && window.TextDecoder && window.AbortController)) {
        on.live(false);
        return;
      }
      var bye = false;
      fetch(url, {
        credentials: "same-origin", cache: "no-store",
        headers: { "Accept": "text/event-stream", "X-CSRFToken": window.Hotline ? window.Hotline.csrfToken() : "" }
      }).then(function (resp) {
        if (!resp.ok || !resp.body) { throw new Error("HTTP " + resp.status); }
        fails = 0;
        on.live(true);
        var reader = resp.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) { return; }
            buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
            var blocks = buffer.split("\n\n");
            buffer = blocks.pop();
            blocks.forEach(function (block) { if (deliver(block) === "bye") { bye = true; } });
            return pump();
          });
        }
        return pump();
      }).then(function () { reconnect(bye); }, function () { reconnect(false); });
    }
    connect();
  }

  window.HotlineStream = { open: open };
})();
