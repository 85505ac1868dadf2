// The one-page quiz builder (admin quiz page): a category or question added on the page
// can be chosen in the drop-downs at once, before anything is saved.
//
// Each new row gets a key of its own in its hidden `builder_key` input; the drop-downs
// that may point at it get an option "new:<key>", which the server links to the saved
// row (quizzes/admin.py, PendingModelChoiceField and _link_pending). Keys stay with their
// row when rows are dragged or removed (nested-admin renames the inputs, not the values).
// Questions fold to one line each, so a long quiz stays easy to move around.
// Without this script the page works as Django's admin does: choose after saving.
(function () {
  "use strict";

  var NEW = "new:";

  function randomKey() {
    var bytes = new Uint8Array(8);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return (b % 36).toString(36); }).join("") + "k";
  }

  function isTemplate(row) {
    return row.classList.contains("empty-form") || row.classList.contains("djn-empty-form") ||
      /-empty$/.test(row.id) || row.id.indexOf("__prefix__") !== -1;
  }

  // Top-level rows of one inline group (not nested rows, not the empty template).
  function rows(groupId, model) {
    var group = document.getElementById(groupId);
    if (!group) return [];
    return Array.from(group.querySelectorAll('.djn-inline-form[data-inline-model="' + model + '"]'))
      .filter(function (row) { return !isTemplate(row); });
  }

  function own(row, suffix) {
    // The row's own input (not one of a nested row's), by the end of its name.
    var inputs = row.querySelectorAll('[name$="-' + suffix + '"]');
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].closest(".djn-inline-form") === row) return inputs[i];
    }
    return null;
  }

  function deleted(row) {
    var box = own(row, "DELETE");
    return Boolean(box && box.checked);
  }

  function ensureKeys(list) {
    var seen = {};
    list.forEach(function (row) {
      var key = own(row, "builder_key");
      var id = own(row, "id");
      if (!key || (id && id.value)) return;
      if (!key.value || seen[key.value]) key.value = randomKey(); // a clone copies its key
      seen[key.value] = true;
    });
  }

  // What a drop-down may point at: [{value, label, row}] in page order.
  function targets(list, labelField, newWord) {
    return list.filter(function (row) { return !deleted(row); }).map(function (row, index) {
      var id = own(row, "id");
      var key = own(row, "builder_key");
      var label = (own(row, labelField) || {}).value || "";
      var saved = Boolean(id && id.value);
      return {
        value: saved ? id.value : NEW + (key ? key.value : ""),
        label: saved ? label : newWord + (label || "(no text yet)"),
        saved: saved,
        row: row,
        index: index,
      };
    });
  }

  function fill(select, items, allowed) {
    var chosen = select.dataset.pending || select.value;
    var byValue = {};
    items.forEach(function (item) { byValue[item.value] = item; });
    // Saved options stay (the server's queryset); labels follow the page; new ones are
    // rebuilt each time.
    Array.from(select.options).forEach(function (option) {
      if (option.value.indexOf(NEW) === 0) option.remove();
      else if (byValue[option.value]) option.textContent = byValue[option.value].label;
    });
    items.forEach(function (item) {
      if (item.saved) return;
      var option = document.createElement("option");
      option.value = item.value;
      option.textContent = item.label;
      select.appendChild(option);
    });
    Array.from(select.options).forEach(function (option) {
      var item = byValue[option.value];
      var ok = !option.value || !allowed || !item || allowed(item);
      option.disabled = !ok && option.value !== chosen;
      option.hidden = option.disabled;
    });
    if (chosen && Array.from(select.options).some(function (o) { return o.value === chosen; })) {
      select.value = chosen;
      delete select.dataset.pending;
    }
  }

  function refresh() {
    var categoryRows = rows("categories-group", "quizzes-category");
    var questionRows = rows("questions-group", "quizzes-question");
    ensureKeys(categoryRows);
    ensureKeys(questionRows);
    var categories = targets(categoryRows, "name", "New: ");
    var questions = targets(questionRows, "text", "New: ");
    var position = new Map(questions.map(function (q) { return [q.row, q.index]; }));

    document.querySelectorAll('#questions-group select[name$="-category"]').forEach(function (s) {
      fill(s, categories);
    });
    document.querySelectorAll('#questions-group select[name$="-next_question"]').forEach(function (s) {
      var row = s.closest('.djn-inline-form[data-inline-model="quizzes-question"]');
      var mine = position.has(row) ? position.get(row) : -1;
      // A branch skips ahead: only questions after this one's.
      fill(s, questions, function (item) { return mine < 0 || item.index > mine; });
    });
    questionRows.forEach(function (row, index) { label(row, index); });
  }

  // --- Folding questions ----------------------------------------------------------

  function label(row, index) {
    var heading = row.querySelector(":scope > h3");
    if (!heading) return;
    var text = (own(row, "text") || {}).value || "(no text yet)";
    var span = heading.querySelector(".inline_label");
    if (span && span.dataset.builderLabel !== text) {
      span.dataset.builderLabel = text;
      span.textContent = (index + 1) + ". " + text;
    }
    if (!heading.querySelector(".qf-fold")) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "qf-fold";
      heading.insertBefore(button, heading.firstChild);
      setFolded(row, row.dataset.fold === "1");
    }
  }

  function setFolded(row, folded) {
    row.classList.toggle("qf-folded", folded);
    var button = row.querySelector(":scope > h3 .qf-fold");
    if (button) {
      button.textContent = folded ? "▸" : "▾";
      button.setAttribute("aria-expanded", String(!folded));
      button.setAttribute("aria-label", folded ? "Show this question" : "Fold this question");
    }
  }

  function foldAll(folded) {
    rows("questions-group", "quizzes-question").forEach(function (row) { setFolded(row, folded); });
  }

  function setUpFolding() {
    var group = document.getElementById("questions-group");
    if (!group) return;
    var list = rows("questions-group", "quizzes-question");
    // A long quiz opens folded, except the questions with an error to fix.
    list.forEach(function (row) {
      var saved = own(row, "id") && own(row, "id").value;
      var fold = list.length > 3 && saved && !row.querySelector(".errorlist");
      row.dataset.fold = fold ? "1" : "0";
    });
    var bar = document.createElement("p");
    bar.className = "qf-fold-all";
    [["Fold all questions", true], ["Show all questions", false]].forEach(function (pair) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = pair[0];
      button.addEventListener("click", function () { foldAll(pair[1]); });
      bar.appendChild(button);
    });
    var heading = group.querySelector("h2");
    if (heading) heading.insertAdjacentElement("afterend", bar);
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; refresh(); showConditionFields(); });
  }

  // The "Preview result blocks" panel goes right under the result blocks it previews
  // (the admin puts a page's fieldsets above its inlines).
  function placeBlocksPreview() {
    var panel = document.querySelector("fieldset.qf-blocks-preview-set");
    var blocks = document.getElementById("result_blocks-group");
    if (panel && blocks) blocks.insertAdjacentElement("afterend", panel);
  }

  // A result block's condition: only the fields its kind reads are shown (the others
  // are cleared on save; without this script they all show, and still are).
  var CONDITION_FIELDS = ["tier", "category", "band", "question", "choice", "compare", "number",
    "field_name", "value"];
  var USED = {
    tier: ["tier"],
    band: ["category", "band"],
    choice: ["question", "choice"],
    rating: ["question", "compare", "number"],
    hidden: ["field_name", "compare", "value"],
  };
  function showConditionFields() {
    document.querySelectorAll('#result_blocks-group select[name$="-kind"]').forEach(function (kind) {
      var row = kind.closest(".form-row");
      if (!row) return;
      var used = USED[kind.value] || CONDITION_FIELDS;
      CONDITION_FIELDS.forEach(function (name) {
        var input = row.querySelector('[name$="-' + name + '"]');
        var box = input && input.closest(".fieldBox");
        if (box) box.style.display = used.indexOf(name) === -1 ? "none" : "";
      });
    });
  }

  function start() {
    if (!document.getElementById("questions-group")) return;
    placeBlocksPreview();
    showConditionFields();
    document.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches('select[name$="-kind"]')) showConditionFields();
    });
    setUpFolding();
    refresh();
    document.addEventListener("input", schedule);
    document.addEventListener("change", schedule);
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest(".qf-fold");
      if (button) {
        event.preventDefault();
        event.stopPropagation();
        var row = button.closest(".djn-inline-form");
        setFolded(row, !row.classList.contains("qf-folded"));
        return;
      }
      schedule();
    }, true);
    // Rows added, removed or dragged (nested-admin moves them in the DOM).
    var observer = new MutationObserver(function (records) {
      if (records.some(function (r) { return r.target.tagName !== "SELECT"; })) schedule();
    });
    ["categories-group", "questions-group", "result_blocks-group"].forEach(function (id) {
      var group = document.getElementById(id);
      if (group) observer.observe(group, { childList: true, subtree: true });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
