// 96345 console: sound for critical alarms. Browsers only allow audio after a user gesture,
// so the operator turns sound on once per shift; new critical alarms then beep (Web Audio, no file),
// and unacknowledged critical alarms beep again every 30 seconds until someone acknowledges them.
(function () {
  "use strict";
  var button = document.getElementById("guardian-sound");
  if (!button) return;
  var audio = null;
  var seen = new Set();
  var firstScan = true;
  var lastNag = 0;

  function beep() {
    if (!audio) return;
    var now = audio.currentTime;
    [0, 0.25, 0.5].forEach(function (offset) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, now + offset + 0.2);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.2);
    });
  }

  button.addEventListener("click", function () {
    if (audio) {
      audio.close();
      audio = null;
      button.setAttribute("aria-pressed", "false");
      button.textContent = button.dataset.off;
      return;
    }
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    audio = new Ctx();
    audio.resume();
    button.setAttribute("aria-pressed", "true");
    button.textContent = button.dataset.on;
    beep();
  });

  var announce = document.getElementById("guardian-announce");

  function scan() {
    var critical = document.querySelectorAll("[data-critical-open]");
    var fresh = false;
    var news = [];
    critical.forEach(function (row) {
      var id = row.getAttribute("data-alert-id");
      if (!seen.has(id)) {
        seen.add(id);
        if (!firstScan) {
          fresh = true;
          var link = row.querySelector("a");
          if (link) news.push(link.textContent.replace(/\s+/g, " ").trim());
        }
        row.classList.add("guardian-new");
      }
    });
    firstScan = false;
    // Screen readers hear the new critical alarms only, not the whole list every 3 seconds.
    if (announce && news.length) announce.textContent = news.join("; ");
    var nag = critical.length > 0 && Date.now() - lastNag > 30000;
    if (fresh || nag) {
      lastNag = Date.now();
      beep();
    }
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "guardian-live") scan();
  });
  scan();
})();
