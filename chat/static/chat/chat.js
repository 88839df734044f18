/* The live chat: the customer's widget (#chat-widget) and the agents' console (#chat-console).
 * One socket per page (/ws/chat/). Every message has its chat's number (seq); the page keeps
 * the last number it saw per chat and sends it when it (re)joins, so nothing is lost or shown
 * twice. Messages being sent keep their client id until acknowledged, and are sent again
 * with the same id after a reconnect (the server stores a resend once). When the socket is
 * lost the page says so and reconnects with a growing pause (backoff). */
(function () {
  "use strict";

  var stringsNode = document.getElementById("chat-strings");
  var T = stringsNode ? JSON.parse(stringsNode.textContent) : {};

  function fmt(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function uid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  /* The socket: reconnects with backoff, rejoins its chats with their last numbers, resends
   * what was not acknowledged. */
  function ChatSocket(path, handlers) {
    this.url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.handlers = handlers;
    this.chats = {};        // chat id -> {last: seq, token: visitor token or ""}
    this.pending = {};      // client id -> frame, until acknowledged
    this.attempt = 0;
    this.ref = 0;
    this.callbacks = {};
    this.open();
  }
  ChatSocket.prototype.open = function () {
    var self = this;
    this.handlers.status("connecting");
    this.ws = new WebSocket(this.url);
    this.ws.onopen = function () {
      self.attempt = 0;
      self.handlers.status("online");
      Object.keys(self.chats).forEach(function (id) { self.sendJoin(Number(id)); });
      if (self.handlers.opened) self.handlers.opened();
      Object.keys(self.pending).forEach(function (cid) { self.raw(self.pending[cid]); });
    };
    this.ws.onmessage = function (event) { self.receive(JSON.parse(event.data)); };
    this.ws.onclose = function () {
      var delay = Math.min(15, Math.pow(2, self.attempt) * 0.5 * (1 + Math.random() * 0.3));
      self.attempt += 1;
      self.handlers.status("lost", Math.ceil(delay));
      setTimeout(function () { self.open(); }, delay * 1000);
    };
  };
  ChatSocket.prototype.raw = function (frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  };
  ChatSocket.prototype.request = function (frame, callback) {
    this.ref += 1;
    frame.ref = this.ref;
    if (callback) this.callbacks[this.ref] = callback;
    this.raw(frame);
  };
  ChatSocket.prototype.join = function (chat, token) {
    if (!this.chats[chat]) this.chats[chat] = {last: 0, token: token || ""};
    this.sendJoin(chat);
  };
  ChatSocket.prototype.sendJoin = function (chat) {
    var info = this.chats[chat];
    var frame = {type: "join", chat: chat, last_seq: info.last};
    if (info.token) frame.token = info.token;
    this.raw(frame);
  };
  ChatSocket.prototype.post = function (chat, body) {
    var frame = {type: "send", chat: chat, client_id: uid(), body: body};
    this.pending[frame.client_id] = frame;
    this.raw(frame);
  };
  ChatSocket.prototype.receive = function (frame) {
    if (frame.type === "message") {
      var info = this.chats[frame.chat];
      if (!info || frame.message.seq <= info.last) return;  // seen already
      info.last = frame.message.seq;
      if (frame.message.client_id) delete this.pending[frame.message.client_id];
    }
    if (frame.type === "ack") delete this.pending[frame.client_id];
    if (frame.ref && this.callbacks[frame.ref]) {
      var callback = this.callbacks[frame.ref];
      delete this.callbacks[frame.ref];
      callback(frame);
    }
    if (frame.type === "error" && frame.code !== "rate_limited") {
      Object.keys(this.pending).forEach(function (cid) { delete this.pending[cid]; }, this);
    }
    this.handlers.frame(frame);
  };

  function showStatus(node, state, seconds) {
    if (!node) return;
    node.dataset.state = state;
    node.textContent = state === "lost" ? fmt(T.lost, {seconds: seconds}) : (T[state] || "");
  }

  function renderMessage(message, mine) {
    var item = el("li", {className: "chat-msg from-" + message.author_kind + (mine ? " mine" : ""), "data-seq": message.seq});
    var who = mine ? T.you : message.author_name;
    if (message.author_kind !== "system") item.appendChild(el("span", {className: "chat-who", text: who}));
    item.appendChild(el("p", {className: "chat-text", text: message.body}));
    var data = message.data || {};
    if (data.articles && data.articles.length) {
      item.appendChild(el("ul", {className: "chat-articles"}, data.articles.map(function (article) {
        return el("li", {}, [el("a", {href: article.url, target: "_blank", rel: "noopener", text: article.title})]);
      })));
    }
    if (data.incidents && data.incidents.length) {
      item.appendChild(el("ul", {className: "chat-incidents"}, data.incidents.map(function (incident) {
        return el("li", {}, [el("a", {href: incident.url, text: incident.title})]);
      })));
    }
    item.appendChild(el("span", {className: "chat-mark muted", "data-role": "mark"}));
    return item;
  }

  function markRead(log, mySide, readSeq) {
    log.querySelectorAll(".chat-msg.mine").forEach(function (item) {
      var mark = item.querySelector("[data-role=mark]");
      if (mark) mark.textContent = Number(item.dataset.seq) <= readSeq ? T.read : "";
    });
  }

  function typingShower(node) {
    var timer = null;
    return function () {
      node.hidden = false;
      node.textContent = T.typing;
      clearTimeout(timer);
      timer = setTimeout(function () { node.hidden = true; }, 3000);
    };
  }

  function throttle(fn, ms) {
    var last = 0;
    return function () { var now = Date.now(); if (now - last > ms) { last = now; fn(); } };
  }

  /* ---- the customer's widget ---- */
  function widget(root) {
    var q = function (role) { return root.querySelector("[data-role=" + role + "]"); };
    var mode = root.dataset.mode;
    var key = "helpdesk-chat-" + mode;
    var saved = JSON.parse(localStorage.getItem(key) || "null");
    var chat = null;
    var log = q("log");
    var socket = null;
    var showTyping = typingShower(q("typing"));

    function remember() { localStorage.setItem(key, JSON.stringify(saved)); }

    function start(event) {
      event.preventDefault();
      var form = q("start");
      var body = {language: root.dataset.language || "en"};
      if (form.elements.name) { body.name = form.elements.name.value; body.email = form.elements.email.value; }
      fetch(root.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf, "Accept": "application/json"},
        body: JSON.stringify(body)
      }).then(function (answer) { return answer.json().then(function (data) { return [answer.ok, data]; }); })
        .then(function (result) {
          if (!result[0]) { q("state").textContent = result[1].detail || T.error; q("body").hidden = false; return; }
          saved = {chat: result[1].id, token: result[1].token};
          remember();
          begin();
        });
    }

    function setState(state) {
      var text = "";
      if (state.status === "waiting" && state.position) text = fmt(T.position, {position: state.position});
      else if (state.status === "active") text = fmt(T.with_agent, {name: state.agent_name});
      else if (state.status === "closed") text = T.closed + (state.ticket ? " " + fmt(T.ticket, {number: state.ticket}) : "");
      else if (state.offline) text = T.offline;
      q("state").textContent = text;
      root.dataset.status = state.status;
      q("leave").hidden = !(state.offline && state.status !== "closed");
      q("actions").querySelector("[data-action=handoff]").hidden = state.status !== "bot" || state.offline;
      q("actions").hidden = state.status === "closed";
      q("compose").hidden = state.status === "closed";
      q("rate").hidden = !(state.status === "closed" || state.status === "active") || !!state.rating;
      if (state.rating) q("state").textContent += " " + T.rated;
      markRead(log, "customer", state.agent_read_seq);
    }

    function begin() {
      q("start").hidden = true;
      q("body").hidden = false;
      chat = saved.chat;
      socket.join(chat, saved.token);
    }

    socket = new ChatSocket(root.dataset.ws, {
      status: function (state, seconds) { showStatus(q("conn"), state, seconds); },
      frame: function (frame) {
        if (frame.chat && frame.chat !== chat) return;
        if (frame.type === "joined" || frame.type === "state") setState(frame.state);
        else if (frame.type === "message") {
          var mine = frame.message.author_kind === "customer";
          log.appendChild(renderMessage(frame.message, mine));
          log.scrollTop = log.scrollHeight;
          if (!mine && document.visibilityState === "visible") socket.raw({type: "read", chat: chat, seq: frame.message.seq});
        } else if (frame.type === "typing") showTyping();
        else if (frame.type === "read" && frame.field === "agent_read_seq") markRead(log, "customer", frame.seq);
        else if (frame.type === "error") {
          q("state").textContent = frame.detail;
          if (frame.code === "chat_not_found" || frame.code === "bad_token") { localStorage.removeItem(key); saved = null; q("start").hidden = false; q("body").hidden = true; }
        }
      }
    });

    q("start").addEventListener("submit", start);
    q("compose").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = q("compose").elements.body;
      var text = input.value.trim();
      if (!text || !chat) return;
      socket.post(chat, text);
      input.value = "";
    });
    q("compose").elements.body.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); q("compose").requestSubmit(); }
    });
    q("compose").elements.body.addEventListener("input", throttle(function () {
      if (chat) socket.raw({type: "typing", chat: chat});
    }, 2000));
    root.querySelector("[data-action=handoff]").addEventListener("click", function () { socket.request({type: "handoff", chat: chat}); });
    root.querySelector("[data-action=close]").addEventListener("click", function () { socket.request({type: "close", chat: chat}); });
    q("leave").addEventListener("submit", function (event) {
      event.preventDefault();
      socket.request({type: "leave_message", chat: chat, body: q("leave").elements.body.value});
    });
    q("rate").querySelectorAll("[data-rating]").forEach(function (button) {
      button.addEventListener("click", function () {
        socket.request({type: "rate", chat: chat, rating: button.dataset.rating, comment: q("rate").elements.comment.value});
      });
    });
    root.querySelector("[data-action=new]").addEventListener("click", function () {
      localStorage.removeItem(key);
      location.reload();
    });
    if (saved && saved.chat) begin(); else q("start").hidden = false;
  }

  /* ---- the agents' console ---- */
  function consoleApp(root) {
    var q = function (role) { return root.querySelector("[data-role=" + role + "]"); };
    var chats = {};          // chat id -> {state, log element}
    var current = null;
    var waiting = [];
    var socket;
    var showTyping = typingShower(q("typing"));

    function since(seconds) {
      var minutes = Math.floor(seconds / 60);
      return minutes ? minutes + ":" + String(seconds % 60).padStart(2, "0") : seconds + " s";
    }

    function renderWaiting() {
      var list = q("waiting");
      list.textContent = "";
      if (!waiting.length) list.appendChild(el("li", {className: "muted", text: T.nothing_waiting}));
      waiting.forEach(function (item) {
        var wait = item.wait_seconds + Math.floor((Date.now() - item.received) / 1000);
        var button = el("button", {type: "button", className: "button primary", "data-accept": item.chat});
        button.textContent = T.accept;
        button.addEventListener("click", function () {
          socket.request({type: "accept", chat: item.chat}, function (answer) {
            if (answer.type === "ok") { track(item.chat); select(item.chat); }
          });
        });
        list.appendChild(el("li", {"data-chat": item.chat}, [
          el("span", {className: "chat-who", text: item.customer_name}),
          el("span", {className: "muted", text: " " + fmt(T.wait, {time: since(wait)}) + " "}),
          button
        ]));
      });
    }

    function renderMine() {
      var list = q("mine");
      list.textContent = "";
      Object.keys(chats).forEach(function (id) {
        var entry = chats[id];
        if (!entry.state || entry.state.status === "closed") return;
        var link = el("button", {type: "button", className: "link" + (Number(id) === current ? " current" : ""), text: entry.state.customer_name || ("#" + id)});
        if (entry.unread) link.appendChild(el("span", {className: "badge", text: String(entry.unread)}));
        link.addEventListener("click", function () { select(Number(id)); });
        list.appendChild(el("li", {}, [link]));
      });
    }

    function track(id) {
      if (!chats[id]) {
        chats[id] = {state: null, log: el("ol", {className: "chat-log"}), unread: 0};
        socket.join(id);
      }
    }

    function select(id) {
      current = id;
      var entry = chats[id];
      q("empty").hidden = true;
      q("current").hidden = false;
      var old = q("log");
      entry.log.setAttribute("data-role", "log");
      if (old !== entry.log) old.replaceWith(entry.log);
      entry.unread = 0;
      showState(entry.state);
      renderMine();
      var last = entry.log.lastElementChild;
      if (last) socket.raw({type: "read", chat: id, seq: Number(last.dataset.seq)});
      fetch(root.dataset.context.replace("/0/", "/" + id + "/"), {credentials: "same-origin"})
        .then(function (answer) { return answer.json(); })
        .then(function (data) {
          q("customer").textContent = data.customer.name + (data.customer.email ? " · " + data.customer.email : "");
          var tickets = q("tickets");
          tickets.textContent = "";
          if (!data.tickets.length) tickets.appendChild(el("li", {className: "muted", text: "—"}));
          data.tickets.forEach(function (t) {
            tickets.appendChild(el("li", {}, [el("a", {href: t.url, target: "_blank", text: "#" + t.number + " " + t.subject}), el("span", {className: "muted", text: " · " + t.status})]));
          });
          var templates = q("templates");
          templates.length = 1;
          data.templates.forEach(function (t) { var option = el("option", {text: t.title}); option.value = t.body; templates.appendChild(option); });
          var target = q("transfer").elements.target;
          target.length = 1;
          data.agents.forEach(function (a) { var o = el("option", {text: a.name}); o.value = "agent:" + a.id; target.appendChild(o); });
          data.lines.forEach(function (l) { var o = el("option", {text: l.name}); o.value = "line:" + l.id; target.appendChild(o); });
        });
    }

    function showState(state) {
      if (!state) return;
      q("title").textContent = state.customer_name;
      var text = state.status_label + (state.ticket ? " · " + fmt(T.ticket, {number: state.ticket}) : "");
      if (state.rating) text += " · " + (state.rating === "like" ? T.like : T.dislike);
      q("state").textContent = text;
      q("compose").hidden = state.status !== "active";
      markRead(chats[state.chat].log, "agent", state.customer_read_seq);
    }

    socket = new ChatSocket(root.dataset.ws, {
      status: function (state, seconds) { showStatus(q("conn"), state, seconds); },
      opened: function () { socket.raw({type: "console"}); },
      frame: function (frame) {
        if (frame.type === "console") {
          var now = Date.now();
          waiting = frame.waiting.map(function (item) { item.received = now; return item; });
          renderWaiting();
          frame.mine.forEach(function (state) { track(state.chat); chats[state.chat].state = state; });
          renderMine();
        } else if (frame.type === "assigned") {
          track(frame.chat);
        } else if (frame.type === "joined" || frame.type === "state") {
          if (!chats[frame.chat]) return;
          chats[frame.chat].state = frame.state;
          if (frame.chat === current) showState(frame.state);
          renderMine();
        } else if (frame.type === "message" && chats[frame.chat]) {
          var entry = chats[frame.chat];
          entry.log.appendChild(renderMessage(frame.message, frame.message.author_kind === "agent"));
          entry.log.scrollTop = entry.log.scrollHeight;
          if (frame.chat === current) {
            if (frame.message.author_kind === "customer") socket.raw({type: "read", chat: current, seq: frame.message.seq});
          } else if (frame.message.author_kind === "customer") {
            entry.unread += 1;
            renderMine();
          }
        } else if (frame.type === "typing" && frame.chat === current) showTyping();
        else if (frame.type === "read" && frame.field === "customer_read_seq" && chats[frame.chat]) markRead(chats[frame.chat].log, "agent", frame.seq);
        else if (frame.type === "error") q("state").textContent = frame.detail;
      }
    });

    setInterval(renderWaiting, 1000);
    q("compose").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = q("compose").elements.body;
      var text = input.value.trim();
      if (!text || !current) return;
      socket.post(current, text);
      input.value = "";
    });
    q("compose").elements.body.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); q("compose").requestSubmit(); }
    });
    q("compose").elements.body.addEventListener("input", throttle(function () {
      if (current) socket.raw({type: "typing", chat: current});
    }, 2000));
    q("templates").addEventListener("change", function () {
      if (this.value) { q("compose").elements.body.value = this.value; this.selectedIndex = 0; q("compose").elements.body.focus(); }
    });
    q("transfer").addEventListener("submit", function (event) {
      event.preventDefault();
      var parts = this.elements.target.value.split(":");
      if (parts.length !== 2 || !current) return;
      var frame = {type: "transfer", chat: current};
      frame[parts[0]] = Number(parts[1]);
      socket.request(frame);
    });
    q("convert").addEventListener("submit", function (event) {
      event.preventDefault();
      socket.request({type: "convert", chat: current, subject: this.elements.subject.value, category: this.elements.category.value});
    });
    root.querySelector("[data-action=close]").addEventListener("click", function () {
      if (current) socket.request({type: "close", chat: current});
    });
  }

  // Keep the newest messages in sight when the page changes size (a phone turned, a keyboard shown).
  window.addEventListener("resize", function () {
    document.querySelectorAll(".chat-log").forEach(function (log) { log.scrollTop = log.scrollHeight; });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var widgetRoot = document.getElementById("chat-widget");
    if (widgetRoot) widget(widgetRoot);
    var consoleRoot = document.getElementById("chat-console");
    if (consoleRoot) consoleApp(consoleRoot);
  });
})();
