// Live updates of the workspace's and the panel's pages (chat.live on the server).
// The page's live bar names the socket and the page to fetch again; a push only says that
// something changed, and the page's regions ([data-live-region]) are fetched again through
// the view, with its permission checks. The words shown come from the bar's data-text-*
// attributes, translated by the template.
(function () {
  "use strict";
  var bar = document.querySelector("[data-live-socket]");
  if (!bar || !window.WebSocket || !window.fetch || !window.DOMParser) {
    return;
  }
  var HEARTBEAT_MS = 20000;
  var TYPING_EVERY_MS = 2500;
  var BACKOFF_MAX_MS = 30000;
  var REFRESH_DELAY_MS = 300;
  var stateLabel = bar.querySelector("[data-live-state]");
  var presence = bar.querySelector("[data-live-presence]");
  var socket = null;
  var attempt = 0;
  var heartbeat = null;
  var refreshTimer = null;
  var flash = [];
  var lastTyping = 0;
  var lost = false;
  var stopped = false;
  var showButton = bar.querySelector("[data-live-show]");

  function text(name) {
    return bar.getAttribute("data-text-" + name) || "";
  }

  function setState(state) {
    bar.setAttribute("data-state", state);
    stateLabel.textContent = text(state);
  }

  function address() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + bar.getAttribute("data-live-socket");
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
    }
  }

  // Fetch the page again and put its live regions in place of ours (the reply being typed
  // is no region: it stays as it is).
  // A region being worked in (a ticket ticked for a bulk action, a field with the focus) is
  // not replaced under the user's hands: a button offers the changes instead.
  function busy(region) {
    var active = document.activeElement;
    var focused = active && region.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
    return focused || region.querySelector("input[type=checkbox]:checked") !== null;
  }

  function refresh(force) {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(function () {
      var url = bar.getAttribute("data-live-page") || window.location.href;
      window
        .fetch(url, { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } })
        .then(function (answer) {
          return answer.ok ? answer.text() : null;
        })
        .then(function (html) {
          if (!html) {
            return;
          }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-live-region]").forEach(function (region) {
            var name = region.getAttribute("data-live-region");
            var next = fresh.querySelector('[data-live-region="' + name + '"]');
            if (!next) {
              return;
            }
            if (!force && busy(region)) {
              showButton.hidden = false;
              return;
            }
            var imported = document.importNode(next, true);
            region.replaceWith(imported);
            if (window.htmx) {
              window.htmx.process(imported);
            }
            flash.forEach(function (number) {
              imported.querySelectorAll('a[href$="/tickets/' + number + '/"]').forEach(function (link) {
                var row = link.closest("tr");
                if (row) {
                  row.classList.add("live-changed");
                }
              });
            });
          });
          flash = [];
          document.dispatchEvent(new CustomEvent("live:refreshed"));
        })
        .catch(function () {
          /* the next push or reconnection fetches again */
        });
    }, REFRESH_DELAY_MS);
  }

  function showPresence(viewers) {
    if (!presence) {
      return;
    }
    if (!viewers.length) {
      presence.hidden = true;
      presence.textContent = "";
      return;
    }
    presence.textContent = "";
    presence.appendChild(document.createTextNode(text("viewing") + " "));
    viewers.forEach(function (viewer, index) {
      var person = document.createElement("span");
      person.className = viewer.typing ? "live-viewer live-typing" : "live-viewer";
      person.textContent = viewer.typing ? viewer.name + " (" + text("typing") + ")" : viewer.name;
      if (index) {
        presence.appendChild(document.createTextNode(", "));
      }
      presence.appendChild(person);
    });
    presence.hidden = false;
  }

  function warnCollision(frame) {
    var warning = document.querySelector("[data-live-collision]");
    if (!warning || frame.mine || frame.kind !== "message" || !frame.actor_name) {
      return;
    }
    if (frame.message_kind !== "public" && frame.message_kind !== "note") {
      return;
    }
    warning.textContent = text("wrote").replace("%(name)s", frame.actor_name);
    warning.hidden = false;
  }

  function receive(event) {
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (frame.type === "ticket") {
      if (frame.ticket) {
        flash.push(frame.ticket);
      }
      warnCollision(frame);
      refresh();
    } else if (frame.type === "presence") {
      showPresence(frame.viewers || []);
    } else if (frame.type === "queue") {
      if (bar.getAttribute("data-live-position") !== null && bar.getAttribute("data-live-position") !== String(frame.position)) {
        refresh();
      }
      bar.setAttribute("data-live-position", String(frame.position));
    } else if (frame.type === "gone") {
      stopped = true;
      stateLabel.textContent = text("gone");
      bar.setAttribute("data-state", "paused");
    }
  }

  function connect() {
    setState(lost ? "paused" : "connecting");
    socket = new WebSocket(address());
    socket.addEventListener("open", function () {
      attempt = 0;
      setState("live");
      if (lost) {
        refresh(); // what changed while the socket was down
      }
      lost = false;
      send({ type: "here" });
      window.clearInterval(heartbeat);
      heartbeat = window.setInterval(function () {
        send({ type: "here" });
      }, HEARTBEAT_MS);
    });
    socket.addEventListener("message", receive);
    socket.addEventListener("close", function () {
      window.clearInterval(heartbeat);
      socket = null;
      if (stopped) {
        return;
      }
      lost = true;
      setState("paused");
      // Exponential backoff with jitter: 1, 2, 4... up to 30 seconds.
      var delay = Math.min(BACKOFF_MAX_MS, 1000 * Math.pow(2, attempt));
      attempt += 1;
      window.setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
    });
  }

  showButton.addEventListener("click", function () {
    showButton.hidden = true;
    refresh(true);
  });

  // Typing a reply on a ticket's page tells the others (at most every few seconds).
  if (presence) {
    document.addEventListener("input", function (event) {
      var form = event.target.form;
      if (!form || form.getAttribute("data-testid") !== "reply-form") {
        return;
      }
      var now = Date.now();
      if (now - lastTyping > TYPING_EVERY_MS) {
        lastTyping = now;
        send({ type: "typing" });
      }
    });
  }
  window.addEventListener("pagehide", function () {
    stopped = true;
    if (socket) {
      socket.close();
    }
  });
  connect();
})();
