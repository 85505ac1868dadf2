// Typeform-style conveniences on a question step, added over a page that works without
// them: keys choose (1–9 or A–Z, in the order shown; a rating takes its own digit), Enter
// goes on (Ctrl+Enter in a text answer), and on a quiz set to auto-advance, picking a
// single-choice or yes/no answer goes on by itself. Without JavaScript the visitor picks
// and presses Next; with htmx the answer is one round trip either way. Delegated on the
// document, so it survives htmx swapping the card.
(function () {
  "use strict";
  var ADVANCE_DELAY_MS = 350; // long enough to see the choice light up

  function stepForm() {
    return document.querySelector("#quiz-card form.step");
  }

  function inputs(form) {
    return Array.from(form.querySelectorAll('input[name="answer"][type="radio"], input[name="answer"][type="checkbox"]'));
  }

  function decorate() {
    var form = stepForm();
    if (!form || form.dataset.keys === "on") return;
    form.dataset.keys = "on";
    var list = inputs(form);
    if (!list.length) return;
    var rating = Boolean(form.querySelector(".scale"));
    if (!rating) {
      list.forEach(function (input, index) {
        if (index >= 26) return;
        var hint = document.createElement("kbd");
        hint.className = "key-hint";
        hint.setAttribute("aria-hidden", "true");
        hint.textContent = String.fromCharCode(65 + index);
        input.closest("label").appendChild(hint);
      });
    }
    var tip = document.createElement("p");
    tip.className = "hint key-tip";
    var last = rating ? "" : String.fromCharCode(64 + Math.min(list.length, 26));
    // The words come translated in the page (the form's data-*).
    tip.textContent = rating
      ? form.dataset.tipRating || "Tip: type a number to choose, Enter to go on."
      : (form.dataset.tipKeys || "Tip: press A–{last} (or 1–{digits}) to choose, Enter to go on.")
          .replace("{last}", last).replace("{digits}", String(Math.min(list.length, 9)));
    form.querySelector(".actions").insertAdjacentElement("beforebegin", tip);
  }

  function pick(input) {
    if (input.type === "checkbox") input.checked = !input.checked;
    else input.checked = true;
    input.focus({ preventScroll: true });
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function submit(form) {
    if (form.dataset.sending === "1") return;
    form.dataset.sending = "1";
    form.requestSubmit();
  }

  document.addEventListener("keydown", function (event) {
    var form = stepForm();
    if (!form || event.altKey || event.metaKey || (event.ctrlKey && event.key !== "Enter")) return;
    var target = event.target;
    var typing = target.matches && target.matches("textarea, input[type=text], input[type=email], select");
    if (event.key === "Enter") {
      if (target.matches && target.matches("a, button")) return; // their own Enter
      if (typing && !(event.ctrlKey || event.metaKey)) return; // a new line in the answer
      event.preventDefault();
      submit(form);
      return;
    }
    if (typing || event.key.length !== 1) return;
    var list = inputs(form);
    var key = event.key.toUpperCase();
    var choice = null;
    if (form.querySelector(".scale")) {
      choice = list.find(function (input) { return input.value === key; }) || null;
    } else if (/^[1-9]$/.test(key)) {
      choice = list[Number(key) - 1] || null;
    } else if (/^[A-Z]$/.test(key)) {
      choice = list[key.charCodeAt(0) - 65] || null;
    }
    if (choice) {
      event.preventDefault();
      pick(choice);
    }
  });

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (!form || !form.matches("#quiz-card form.step[data-auto-advance]")) return;
    if (event.target.type !== "radio" || !event.target.checked) return;
    window.setTimeout(function () {
      if (form.isConnected) submit(form);
    }, ADVANCE_DELAY_MS);
  });

  document.addEventListener("DOMContentLoaded", decorate);
  document.addEventListener("htmx:afterSettle", decorate);
  // A failed answer (a 4xx card) lets the form be sent again.
  document.addEventListener("htmx:afterRequest", function () {
    var form = stepForm();
    if (form) delete form.dataset.sending;
  });
})();
