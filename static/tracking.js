/* Quizfunnel client events: what only the browser sees.
 *
 * The server records every step itself; this adds time on screen, how far the
 * result was read and clicks on its call to action. Each event names the
 * server's event (rendered as data-track-event), so it enriches that event
 * and is never counted twice. No dependencies; survives htmx swaps.
 *
 * A result card carries its lead's server event id (data-lead-event-id); the page
 * announces it once as a `quizfunnel:lead` DOM event ({detail: {eventId}}), so that a
 * browser pixel (or embed.js, for the page around an embedded quiz) can send its own
 * Lead event with that id and the ad platform keeps one of the pair.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = (script && script.getAttribute("data-endpoint")) || "/t/events";
  var queue = [];
  var current = null;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function push(name, serverEventId, properties) {
    queue.push({ id: uuid(), name: name, time: new Date().toISOString(),
                 server_event_id: serverEventId, properties: properties || {} });
  }

  function flush() {
    while (queue.length) {
      var body = JSON.stringify({ events: queue.splice(0, 50) });
      var sent = false;
      try {
        sent = navigator.sendBeacon && navigator.sendBeacon(endpoint, new Blob([body], { type: "application/json" }));
      } catch (e) { sent = false; }
      if (!sent && window.fetch) {
        fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "same-origin",
                          headers: { "Content-Type": "application/json" } }).catch(function () {});
      }
    }
  }

  function visibleMs(card) {
    var extra = card.since === null ? 0 : performance.now() - card.since;
    return Math.round(card.visible + extra);
  }

  function depthOf(el) {
    var rect = el.getBoundingClientRect();
    if (rect.height <= 0) return 100;
    var seen = (window.innerHeight - rect.top) / rect.height * 100;
    return Math.max(0, Math.min(100, Math.round(seen)));
  }

  function leave() {
    if (!current) return;
    var props = { time_visible_ms: visibleMs(current) };
    if (current.name === "result_viewed") props.read_depth_percent = current.depth;
    push(current.name, current.id, props);
    current = null;
  }

  var announced = {};
  function announceLead() {
    var el = document.querySelector("[data-lead-event-id]");
    var id = el && el.getAttribute("data-lead-event-id");
    if (!id || announced[id]) return;
    announced[id] = true;
    document.dispatchEvent(new CustomEvent("quizfunnel:lead", { detail: { eventId: id } }));
  }

  function enter() {
    announceLead();
    var el = document.querySelector("[data-track-event]");
    var id = el && el.getAttribute("data-track-event");
    if (current && current.id === id) return;
    leave();
    if (el) {
      current = { id: id, name: el.getAttribute("data-track-name"), el: el, visible: 0,
                  since: document.visibilityState === "visible" ? performance.now() : null, depth: 0 };
      current.depth = depthOf(el);
    }
    flush();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      leave();
      flush();
    } else {
      enter();
    }
  });
  window.addEventListener("pagehide", function () { leave(); flush(); });
  window.addEventListener("scroll", function () {
    if (current) current.depth = Math.max(current.depth, depthOf(current.el));
  }, { passive: true });
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-track-click]");
    var card = link && link.closest("[data-track-event]");
    if (!card) return;
    push(link.getAttribute("data-track-click"), card.getAttribute("data-track-event"), {
      tier: link.getAttribute("data-track-tier") || undefined,
      url: link.href
    });
    flush();
  });
  document.addEventListener("htmx:afterSettle", enter);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enter);
  } else {
    enter();
  }
})();
