/* Quizfunnel inside embed.js's frame: tells the embedding page the card's height and
 * what happened (started, completed, lead, result), and nothing to anyone else.
 *
 * Messages go to one window, the parent, and to one origin, the embedding page's
 * (rendered by the server from the quiz's allowed sites, never "*"); messages from any
 * other window or origin are ignored. Loaded only on pages opened by embed.js.
 */
(function () {
  "use strict";
  if (window.parent === window) return;
  var meta = document.querySelector('meta[name="quizfunnel-parent"]');
  var parentOrigin = meta && meta.getAttribute("content");
  if (!parentOrigin) return;
  var sent = {};
  var lastHeight = 0;

  function post(message) {
    message.source = "quizfunnel";
    window.parent.postMessage(message, parentOrigin);
  }

  function height() {
    var body = document.body;
    var style = window.getComputedStyle(body);
    return Math.ceil(body.getBoundingClientRect().height +
      parseFloat(style.marginTop || 0) + parseFloat(style.marginBottom || 0));
  }

  function resize(force) {
    var h = height();
    if (force || Math.abs(h - lastHeight) > 1) {
      lastHeight = h;
      post({ type: "quizfunnel:resize", height: h });
    }
  }

  function announce() {
    // Each card lists its events; the parent sees each once (by its server event id).
    document.querySelectorAll("script[data-quizfunnel-events]").forEach(function (node) {
      var events;
      try { events = JSON.parse(node.textContent); } catch (e) { return; }
      events.forEach(function (event) {
        var key = event.type + ":" + event.event_id;
        if (sent[key]) return;
        sent[key] = true;
        post(event);
      });
    });
  }

  function ready() {
    post({ type: "quizfunnel:ready", height: height() });
    resize(true);
    announce();
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    var data = event.data;
    if (data && data.type === "quizfunnel:hello") ready();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") post({ type: "quizfunnel:escape" });
  });

  document.addEventListener("htmx:afterSettle", function () {
    resize(false);
    announce();
    post({ type: "quizfunnel:step" });
  });

  function start() {
    if (window.ResizeObserver) new ResizeObserver(function () { resize(false); }).observe(document.body);
    window.addEventListener("resize", function () { resize(false); });
    ready();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
