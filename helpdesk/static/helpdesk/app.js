// The pages' own behaviour, kept out of the markup (no inline handlers).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.id === "language-select" && target.form) {
    target.form.submit();
  }
});

// A reply template goes in where the cursor is, keeping what the agent has typed.
function insertAtCursor(field, text) {
  var start = field.selectionStart, end = field.selectionEnd;
  if (typeof start !== "number") {
    start = end = field.value.length;
  }
  var before = field.value.slice(0, start), after = field.value.slice(end);
  // On a line of its own when it lands in the middle of typed text.
  if (before && !/\n$/.test(before)) { text = "\n" + text; }
  if (after && !/^\n/.test(after)) { text = text + "\n"; }
  field.value = before + text + after;
  var caret = before.length + text.length;
  field.focus();
  field.setSelectionRange(caret, caret);
}

document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.id === "template-select" && target.value) {
    var body = document.getElementById("id_body");
    if (body) {
      insertAtCursor(body, target.options[target.selectedIndex].dataset.text);
    }
    target.value = "";
  }
});

// Paying for a boost: say what it costs, in which currency, before the form goes.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

document.addEventListener("click", function (event) {
  var hit = event.target.closest ? event.target.closest("[data-login]") : null;
  if (hit) {
    // A customer picked from the lookup under the customer field.
    var field = document.getElementById("id_customer");
    if (field) {
      field.value = hit.dataset.login;
      field.focus();
    }
    var hits = document.getElementById("customer-hits");
    if (hits) { hits.innerHTML = ""; }
    return;
  }
  var detect = event.target.closest ? event.target.closest("[data-detect-zone]") : null;
  if (detect) {
    var select = document.getElementById(detect.dataset.detectZone);
    var zone = browserZone();
    if (select && zone) { select.value = zone; }
  }
});

function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return "";
  }
}

// First visit: tell the server the browser's zone; reload once if the page used another.
document.addEventListener("DOMContentLoaded", function () {
  var body = document.body;
  if (body.dataset.timeZoneDetect !== "1") { return; }
  var zone = browserZone();
  if (!zone) { return; }
  var token = "";
  try { token = JSON.parse(body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (error) { token = ""; }
  var data = new URLSearchParams();
  data.set("time_zone", zone);
  fetch(body.dataset.timeZoneUrl, {
    method: "POST", body: data, credentials: "same-origin", headers: {"X-CSRFToken": token},
  }).then(function (response) {
    if (response.ok && zone !== body.dataset.timeZone && !sessionStorage.getItem("helpdesk-zone-reloaded")) {
      sessionStorage.setItem("helpdesk-zone-reloaded", "1");
      window.location.reload();
    }
  });
});
