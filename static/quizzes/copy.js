// The quiz page's "Copy" buttons: copy the snippet beside them, and say so.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy-from]");
  if (!button) return;
  var box = document.getElementById(button.getAttribute("data-copy-from"));
  if (!box) return;
  function done() {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }
  box.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(box.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
