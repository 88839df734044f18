// The workspace's list: keyboard navigation, selection for bulk actions, the shortcuts' help.
// j/k move, Enter or o opens, x selects, t takes, / searches, ? shows the shortcuts.
(function () {
  "use strict";
  var bulk = document.getElementById("ws-bulk");
  if (!bulk) {
    return;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.ws-row"));
  var help = document.getElementById("ws-help");
  var counter = bulk.querySelector("[data-ws-selected]");
  var action = document.getElementById("b-action");
  var focused = -1;
  var emptyText = counter ? counter.textContent : "";

  function checkbox(row) {
    return row.querySelector("input[name=tickets]");
  }

  function refresh() {
    var picked = rows.filter(function (row) { return checkbox(row).checked; });
    rows.forEach(function (row) { row.classList.toggle("ws-picked", checkbox(row).checked); });
    if (counter) {
      counter.textContent = picked.length ? counter.dataset.selected + " " + picked.length : emptyText;
    }
  }

  function showParams() {
    bulk.classList.add("js");
    var chosen = action ? action.value : "";
    Array.prototype.forEach.call(bulk.querySelectorAll(".ws-param"), function (param) {
      param.classList.toggle("shown", param.dataset.for.split(" ").indexOf(chosen) >= 0);
    });
  }

  function focus(index) {
    if (!rows.length) {
      return;
    }
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (focused >= 0 && rows[focused]) {
      rows[focused].classList.remove("ws-focus");
    }
    focused = index;
    rows[focused].classList.add("ws-focus");
    rows[focused].scrollIntoView({ block: "nearest" });
    var link = rows[focused].querySelector("td.ws-num a");
    if (link) {
      link.focus({ preventScroll: true });
    }
  }

  function take(row) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = row.dataset.take;
    var token = bulk.querySelector("input[name=csrfmiddlewaretoken]").cloneNode();
    form.appendChild(token);
    document.body.appendChild(form);
    form.submit();
  }

  function toggleHelp() {
    if (!help) {
      return;
    }
    if (help.open) {
      help.close();
    } else {
      help.showModal();
    }
  }

  if (action) {
    action.addEventListener("change", showParams);
    showParams();
  }
  bulk.addEventListener("change", function (event) {
    if (event.target.matches("[data-ws-all]")) {
      rows.forEach(function (row) { checkbox(row).checked = event.target.checked; });
    }
    refresh();
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-ws-help]"), function (button) {
    button.addEventListener("click", toggleHelp);
  });
  rows.forEach(function (row, index) {
    row.addEventListener("click", function (event) {
      if (!event.target.closest("a, input, label")) {
        focus(index);
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    if (target.closest && target.closest("input, select, textarea, [contenteditable]") && !(target.type === "checkbox")) {
      if (event.key === "Escape") {
        target.blur();
      }
      return;
    }
    var row = focused >= 0 ? rows[focused] : null;
    switch (event.key) {
      case "j":
        focus(focused + 1);
        break;
      case "k":
        focus(focused < 0 ? 0 : focused - 1);
        break;
      case "Enter":
      case "o":
        if (!row || (event.key === "Enter" && target.tagName === "A")) {
          return;
        }
        window.location.href = row.dataset.href;
        break;
      case "x":
        if (!row) {
          return;
        }
        checkbox(row).checked = !checkbox(row).checked;
        refresh();
        break;
      case "t":
        if (!row) {
          return;
        }
        take(row);
        break;
      case "/":
        var search = document.querySelector("[data-ws-search]");
        if (search) {
          search.focus();
        }
        break;
      case "?":
        toggleHelp();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
  refresh();
})();
