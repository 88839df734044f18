// The workspace's help-centre panel beside a ticket: "Insert link" puts a Markdown link to the
// article into the reply at the cursor. A file of its own: the CSP allows no inline script.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-insert-link]") : null;
  if (!button) {
    return;
  }
  var body = document.querySelector("[data-testid=reply-form] textarea[name=body]") || document.getElementById("id_body");
  if (!body) {
    return;
  }
  var link = "[" + button.dataset.title.replace(/[\[\]]/g, "") + "](" + button.dataset.insertLink + ")";
  var start = body.selectionStart || body.value.length;
  var end = body.selectionEnd || start;
  var before = body.value.slice(0, start);
  var spacer = before && !/\s$/.test(before) ? " " : "";
  body.value = before + spacer + link + body.value.slice(end);
  body.focus();
  var caret = (before + spacer + link).length;
  body.setSelectionRange(caret, caret);
});
