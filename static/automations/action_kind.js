// Show an action's fields for the kind chosen (the server does the same for saved ones).
"use strict";
(function () {
  function apply(select) {
    const fields = JSON.parse(select.dataset.kindFields);
    const used = fields[select.value];
    const form = select.closest(".inline-related");
    if (!form || !used) return;
    for (const names of Object.values(fields)) {
      for (const name of names) {
        for (const box of form.querySelectorAll(".fieldBox.field-" + name)) {
          // The box and its help text share a parent.
          box.parentElement.style.display = used.includes(name) ? "" : "none";
        }
      }
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-kind-fields]")) apply(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-kind-fields]").forEach(apply);
  });
  document.addEventListener("formset:added", function (event) {
    event.target.querySelectorAll("select[data-kind-fields]").forEach(apply);
  });
})();
