// Caregiver visits: every action is queued on the phone (localStorage) with the phone's own
// time and location, then sent in order when there is signal. The server keeps both the
// device time and the time it received the action, so a late sync is visible, not hidden.
(function () {
  "use strict";
  var root = document.getElementById("visits");
  if (!root) return;
  var KEY = "yiyang.visits.queue.v1";
  var api = root.dataset.api;
  var csrf = root.dataset.csrf;
  var sending = false;
  // What the phone expects after each action, so the page moves on while offline.
  var NEXT = { "start-travel": "en_route", "check-in": "in_service", "check-out": "completed", "not-home": "not_home" };

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(q) { localStorage.setItem(KEY, JSON.stringify(q)); }
  function card(orderId) { return root.querySelector('.visit[data-order="' + orderId + '"]'); }

  function showState() {
    var q = load();
    var el = document.getElementById("sync-state");
    el.textContent = q.length ? q.length + " " + root.dataset.msgWaiting : "";
  }

  function render(article, status, allowed) {
    article.dataset.status = status;
    var can = function (a) { return allowed ? allowed.indexOf(a) >= 0 : null; };
    var guess = {
      "start-travel": status === "assigned",
      "check-in": status === "assigned" || status === "en_route",
      "not-home": status === "assigned" || status === "en_route",
    };
    article.querySelectorAll(".visit-actions [data-action]").forEach(function (b) {
      var name = b.dataset.action.replace("-", "_");
      var ok = can(name);
      b.hidden = !(ok === null ? guess[b.dataset.action] : ok);
    });
    var tasks = article.querySelector(".visit-tasks");
    if (tasks) tasks.hidden = status !== "in_service";
  }

  function error(article, text) {
    var el = article && article.querySelector('[data-role="error"]');
    if (el) el.textContent = text || "";
  }

  function position() {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) { reject(new Error("no geolocation")); return; }
      navigator.geolocation.getCurrentPosition(
        function (p) { resolve({ lat: p.coords.latitude, lng: p.coords.longitude }); },
        reject,
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }

  function enqueue(orderId, path, body) {
    body.device_time = new Date().toISOString();
    var q = load();
    q.push({ id: Date.now() + "-" + Math.random().toString(16).slice(2), order: orderId, url: api + orderId + "/" + path, body: body });
    save(q);
    showState();
    flush();
  }

  function flush() {
    if (sending) return;
    var q = load();
    if (!q.length) { showState(); return; }
    sending = true;
    var item = q[0];
    fetch(item.url, {
      method: "POST",
      credentials: "same-origin",
      // The page's language, not the phone's: the API answers in Accept-Language, and many phones here
      // report an English browser language their users never chose.
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept-Language": document.documentElement.lang || "zh-hans" },
      body: JSON.stringify(item.body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        var article = card(item.order);
        // Any answer from the server settles the action: done, or refused with a reason.
        var rest = load().filter(function (x) { return x.id !== item.id; });
        save(rest);
        if (response.ok) {
          if (article) { render(article, data.status, data.allowed_actions); error(article, ""); var s = article.querySelector('[data-role="status"]'); if (s) s.textContent = data.status_label; }
        } else if (response.status >= 500) {
          save([item].concat(rest)); // a server fault: keep it and retry later
          throw new Error("server");
        } else if (article) {
          error(article, data.message || String(response.status));
          if (data.status) render(article, data.status, data.allowed_actions);
        }
        sending = false;
        showState();
        flush();
      });
    }).catch(function () {
      sending = false;
      showState();
    });
  }

  root.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-action]");
    if (!button) return;
    var article = button.closest(".visit");
    var orderId = article.dataset.order;
    var action = button.dataset.action;
    error(article, "");
    if (action === "start-travel") {
      enqueue(orderId, action, {});
      render(article, NEXT[action]);
      return;
    }
    button.disabled = true;
    position().then(function (pos) {
      var body = { lat: pos.lat, lng: pos.lng };
      if (action === "check-out") body.elder_confirmed = !!article.querySelector('[data-role="confirmed"]').checked;
      enqueue(orderId, action, body);
      render(article, NEXT[action]);
      error(article, navigator.onLine ? "" : root.dataset.msgQueued);
    }).catch(function () {
      error(article, root.dataset.msgNoloc);
    }).then(function () { button.disabled = false; });
  });

  root.addEventListener("change", function (ev) {
    var input = ev.target;
    if (input.type !== "radio") return;
    var task = input.closest("[data-task]");
    var article = input.closest(".visit");
    if (!task || !article) return;
    enqueue(article.dataset.order, "tasks", { task_code: task.dataset.task, outcome: input.value });
  });

  window.addEventListener("online", flush);
  setInterval(flush, 20000);
  showState();
  flush();

  if ("serviceWorker" in navigator && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: root.dataset.swScope }).catch(function () {});
  }
})();
