/* Quizfunnel embed: put a quiz on any page with one tag.
 *
 *   <script src="https://QUIZ-HOST/embed.js" data-quiz="SLUG" async></script>
 *
 * data-mode: "inline" (default; a frame in place of the tag, as tall as its content),
 * "popup" (a button opening the quiz over the page) or "slider" (a button opening it
 * in a side panel); data-button-text: the button's words; data-lang: the quiz's language
 * ("de"; default: the visitor's browser chooses among the quiz's languages).
 * Quizfunnel.open("SLUG") opens a quiz in the popup from any script.
 *
 * The frame is told this page's origin, URL and referrer (its utm_*, click ids and the
 * quiz's hidden fields are read from them). Messages are taken only from the quiz's
 * host and only from our own frames; the page receives DOM events (bubbling, on the
 * frame, so on document and window too): quizfunnel:started, quizfunnel:completed,
 * quizfunnel:lead (detail: event_id, score, percent, tier), quizfunnel:result.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var host = new URL(script.src, window.location.href).origin;
  var URL_MAX = 2000;
  var instances = [];
  var api = (window.Quizfunnel = window.Quizfunnel || {});
  // The few words this script writes on the host page itself, in the quiz's language
  // (data-lang) or else the page's (<html lang>). The quiz's own pages are translated by
  // the server (locale/).
  var lang = (script.getAttribute("data-lang") || "").toLowerCase().split("-")[0];
  var WORDS = {
    de: {
      refused: "Dieses Quiz konnte hier nicht angezeigt werden: Diese Website gehört vielleicht nicht zu den für das Quiz erlaubten Websites. ",
      newTab: "Quiz in einem neuen Tab öffnen",
      close: "Quiz schließen",
      take: "Zum Quiz"
    },
    fr: {
      refused: "Ce quiz n’a pas pu être affiché ici : ce site ne fait peut-être pas partie des sites autorisés pour ce quiz. ",
      newTab: "Ouvrir le quiz dans un nouvel onglet",
      close: "Fermer le quiz",
      take: "Répondre au quiz"
    },
    es: {
      refused: "Este cuestionario no se pudo mostrar aquí: puede que este sitio no sea uno de los sitios permitidos del cuestionario. ",
      newTab: "Abrir el cuestionario en una pestaña nueva",
      close: "Cerrar el cuestionario",
      take: "Hacer el cuestionario"
    },
    en: {
      refused: "This quiz could not be shown here: this site may not be one of the quiz's allowed sites. ",
      newTab: "Open the quiz in a new tab",
      close: "Close the quiz",
      take: "Take the quiz"
    }
  };
  var words = WORDS[lang] ||
    WORDS[(document.documentElement.lang || "").toLowerCase().split("-")[0]] || WORDS.en;

  function bounded(url) {
    var parsed;
    try { parsed = new URL(url); } catch (e) { return ""; }
    parsed.hash = "";
    var text = parsed.href;
    if (text.length > URL_MAX) text = parsed.origin + parsed.pathname.slice(0, URL_MAX / 2);
    return text;
  }

  function frameUrl(slug, mode) {
    var params = new URLSearchParams();
    params.set("qf_embed", mode);
    params.set("qf_origin", window.location.origin);
    params.set("qf_page", bounded(window.location.href));
    if (document.referrer) params.set("qf_ref", bounded(document.referrer));
    if (lang) params.set("lang", lang);
    return host + "/q/" + encodeURIComponent(slug) + "/?" + params.toString();
  }

  function injectStyles() {
    if (document.getElementById("quizfunnel-embed-styles")) return;
    var style = document.createElement("style");
    style.id = "quizfunnel-embed-styles";
    style.textContent = [
      ".quizfunnel-frame{display:block;width:100%;border:0;min-height:120px;background:transparent}",
      ".quizfunnel-button{font:inherit;font-weight:600;padding:.75em 1.25em;border:0;border-radius:8px;",
      "background:#1f7a4d;color:#fff;cursor:pointer}",
      ".quizfunnel-button:focus-visible,.quizfunnel-close:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
      ".quizfunnel-overlay{position:fixed;inset:0;z-index:2147483000;background:rgba(15,23,42,.6);",
      "display:flex;align-items:center;justify-content:center}",
      ".quizfunnel-overlay[hidden]{display:none}",
      ".quizfunnel-panel{position:relative;display:flex;flex-direction:column;background:#fff;",
      "width:min(720px,94vw);height:min(860px,90vh);border-radius:12px;overflow:hidden;",
      "box-shadow:0 20px 60px rgba(0,0,0,.35)}",
      ".quizfunnel-bar{display:flex;justify-content:flex-end;padding:4px;border-bottom:1px solid #e5e7eb}",
      ".quizfunnel-slider{justify-content:flex-end;align-items:stretch}",
      ".quizfunnel-slider .quizfunnel-panel{width:min(460px,100vw);height:100%;border-radius:0;",
      "animation:quizfunnel-in .2s ease-out}",
      "@keyframes quizfunnel-in{from{transform:translateX(100%)}to{transform:none}}",
      "@media (prefers-reduced-motion:reduce){.quizfunnel-slider .quizfunnel-panel{animation:none}}",
      ".quizfunnel-panel .quizfunnel-frame{flex:1;height:auto}",
      ".quizfunnel-close{width:44px;height:44px;border:0;border-radius:50%;background:transparent;",
      "color:#111;font-size:30px;line-height:1;cursor:pointer}",
      ".quizfunnel-close:hover{background:#f3f4f6}",
      ".quizfunnel-refused{padding:1em;border:1px solid #d1d5db;border-radius:8px;font:inherit}",
      "@media (max-width:600px){.quizfunnel-panel{width:100vw;height:100%;border-radius:0}}"
    ].join("");
    document.head.appendChild(style);
  }

  function makeFrame(instance) {
    var iframe = document.createElement("iframe");
    iframe.className = "quizfunnel-frame";
    iframe.title = instance.title;
    iframe.src = frameUrl(instance.slug, instance.mode);
    if (instance.mode === "inline") {
      iframe.setAttribute("scrolling", "no"); // the frame takes its content's height
      iframe.style.height = "480px";
    }
    instance.iframe = iframe;
    instance.ready = false;
    iframe.addEventListener("load", function () {
      // A frame the browser refused (this site is not allowed) never says hello.
      if (instance.helloTimer) clearTimeout(instance.helloTimer);
      try { iframe.contentWindow.postMessage({ type: "quizfunnel:hello" }, host); } catch (e) { /* gone */ }
      instance.helloTimer = setTimeout(function () {
        if (!instance.ready) refused(instance);
      }, 3000);
    });
    return iframe;
  }

  function refused(instance) {
    var note = document.createElement("p");
    note.className = "quizfunnel-refused";
    note.setAttribute("role", "status");
    note.appendChild(document.createTextNode(words.refused));
    var link = document.createElement("a");
    link.href = host + "/q/" + encodeURIComponent(instance.slug) + "/";
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = words.newTab;
    note.appendChild(link);
    instance.iframe.style.display = "none";
    instance.iframe.parentNode.insertBefore(note, instance.iframe.nextSibling);
  }

  function emit(instance, data) {
    var key = data.type + ":" + (data.event_id || "");
    if (data.event_id) {
      if (instance.seen[key]) return;
      instance.seen[key] = true;
    }
    var detail = { quiz: instance.slug };
    ["event_id", "score", "percent", "tier"].forEach(function (name) {
      if (data[name] !== undefined) detail[name] = data[name];
    });
    instance.iframe.dispatchEvent(new CustomEvent(data.type, { bubbles: true, detail: detail }));
    if (Array.isArray(window.dataLayer)) {
      var layer = { event: data.type.replace(":", "_") };
      Object.keys(detail).forEach(function (name) { layer["quizfunnel_" + name] = detail[name]; });
      window.dataLayer.push(layer);
    }
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== host) return; // only the quiz's own host speaks to us
    var data = event.data;
    if (!data || data.source !== "quizfunnel" || typeof data.type !== "string") return;
    var instance = null;
    for (var i = 0; i < instances.length; i++) {
      if (instances[i].iframe && instances[i].iframe.contentWindow === event.source) instance = instances[i];
    }
    if (!instance) return; // a frame of that host, but not one of ours
    switch (data.type) {
      case "quizfunnel:ready":
      case "quizfunnel:message":
        instance.ready = true;
        if (instance.mode === "inline" && data.height) instance.iframe.style.height = data.height + "px";
        break;
      case "quizfunnel:resize":
        if (instance.mode === "inline" && typeof data.height === "number" && data.height > 0) {
          instance.iframe.style.height = Math.min(data.height, 20000) + "px";
        }
        break;
      case "quizfunnel:step":
        if (instance.mode === "inline" && instance.iframe.getBoundingClientRect().top < 0) {
          instance.iframe.scrollIntoView({ block: "start" });
        }
        break;
      case "quizfunnel:escape":
        if (instance.close) instance.close();
        break;
      case "quizfunnel:started":
      case "quizfunnel:completed":
      case "quizfunnel:lead":
      case "quizfunnel:result":
        emit(instance, data);
        break;
    }
  });

  function focusables(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("button, iframe, [href], [tabindex]:not([tabindex='-1'])"),
      function (el) { return !el.hidden && el.offsetParent !== null; });
  }

  function dialog(instance) {
    injectStyles();
    var overlay = document.createElement("div");
    overlay.className = "quizfunnel-overlay" + (instance.mode === "slider" ? " quizfunnel-slider" : "");
    overlay.hidden = true;
    var panel = document.createElement("div");
    panel.className = "quizfunnel-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "true");
    panel.setAttribute("aria-label", instance.title);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "quizfunnel-close";
    close.setAttribute("aria-label", words.close);
    close.innerHTML = "&times;";
    var bar = document.createElement("div");
    bar.className = "quizfunnel-bar";
    bar.appendChild(close);
    panel.appendChild(bar);
    overlay.appendChild(panel);
    document.body.appendChild(overlay);
    var opener = null;
    var overflow = "";

    function onKey(event) {
      if (overlay.hidden) return;
      if (event.key === "Escape") { event.preventDefault(); instance.close(); return; }
      if (event.key !== "Tab") return;
      var items = focusables(panel);
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
      else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
      else if (!panel.contains(document.activeElement)) { event.preventDefault(); first.focus(); }
    }
    function onFocusIn(event) {
      // Focus that leaves the dialog (tabbing out of the frame) comes back to it.
      if (!overlay.hidden && !panel.contains(event.target)) close.focus();
    }

    instance.open = function () {
      opener = document.activeElement;
      if (!instance.iframe) panel.appendChild(makeFrame(instance));
      overlay.hidden = false;
      overflow = document.documentElement.style.overflow;
      document.documentElement.style.overflow = "hidden";
      document.addEventListener("keydown", onKey, true);
      document.addEventListener("focusin", onFocusIn, true);
      close.focus();
    };
    instance.close = function () {
      if (overlay.hidden) return;
      overlay.hidden = true;
      document.documentElement.style.overflow = overflow;
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("focusin", onFocusIn, true);
      if (opener && opener.focus) opener.focus();
    };
    close.addEventListener("click", instance.close);
    overlay.addEventListener("click", function (event) { if (event.target === overlay) instance.close(); });
  }

  function create(slug, mode, options) {
    var instance = {
      slug: slug, mode: mode, seen: {}, iframe: null,
      title: (options && options.title) || "Quiz"
    };
    instances.push(instance);
    if (mode === "inline") {
      injectStyles();
      options.place(makeFrame(instance));
    } else {
      dialog(instance);
    }
    return instance;
  }

  api.open = function (slug, mode) {
    var found = null;
    instances.forEach(function (instance) {
      if (instance.slug === slug && instance.open && (!mode || instance.mode === mode)) found = found || instance;
    });
    (found || create(slug, mode === "slider" ? "slider" : "popup", {})).open();
  };
  api.close = function () {
    instances.forEach(function (instance) { if (instance.close) instance.close(); });
  };

  var slug = script.getAttribute("data-quiz");
  if (!slug) return;
  var mode = script.getAttribute("data-mode") || "inline";
  if (["inline", "popup", "slider"].indexOf(mode) < 0) mode = "inline";
  var title = script.getAttribute("data-title") || "Quiz";
  function setUp() {
    if (mode === "inline") {
      create(slug, mode, { title: title, place: function (frame) { script.parentNode.insertBefore(frame, script); } });
      return;
    }
    injectStyles();
    var instance = create(slug, mode, { title: title });
    var button = document.createElement("button");
    button.type = "button";
    button.className = "quizfunnel-button";
    button.setAttribute("aria-haspopup", "dialog");
    button.textContent = script.getAttribute("data-button-text") || words.take;
    button.addEventListener("click", function () { instance.open(); });
    script.parentNode.insertBefore(button, script);
  }
  if (document.body) setUp();
  else document.addEventListener("DOMContentLoaded", setUp);
})();
