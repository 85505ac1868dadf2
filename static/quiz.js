// The counter under a text answer: how much of the limit is used, and by how much it is
// over (the server refuses an answer over the limit with the same words). Delegated on
// the document, so it survives htmx swapping the card.
(function () {
  "use strict";
  function update(box) {
    var note = document.querySelector('[data-counter-for="' + box.id + '"]');
    if (!note) return;
    var limit = Number(box.dataset.limit);
    var used = Array.from(box.value).length; // characters, as the server counts them
    // The words come translated in the page (data-*), the numbers in the page's language.
    var lang = document.documentElement.lang || "en";
    function n(value) { return value.toLocaleString(lang); }
    var text = (note.dataset.used || "{used} of {limit} characters.")
      .replace("{used}", n(used)).replace("{limit}", n(limit));
    if (used > limit) {
      text = (note.dataset.over || "{used} of {limit} characters: {over} too many.")
        .replace("{used}", n(used)).replace("{limit}", n(limit)).replace("{over}", n(used - limit));
    }
    note.textContent = text;
    note.classList.toggle("over", used > limit);
  }
  function all() {
    document.querySelectorAll("textarea[data-limit]").forEach(update);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-limit]")) update(event.target);
  });
  document.addEventListener("DOMContentLoaded", all);
  document.addEventListener("htmx:afterSettle", all);
})();
