// Live care console: server-sent events insert and update rows; ack/resolve go through fetch.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const tbody = document.getElementById("alerts");
  const empty = document.getElementById("empty");
  const live = document.getElementById("live");
  const errorBox = document.getElementById("error");
  let audio = null;

  // Browsers allow sound only after a gesture: the first click or key arms the beep.
  const armAudio = () => {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume();
  };
  document.addEventListener("click", armAudio);
  document.addEventListener("keydown", armAudio);

  function beep() {
    if (!audio || audio.state !== "running") return;
    const now = audio.currentTime;
    for (const [start, freq] of [[0, 880], [0.25, 660], [0.5, 880]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.2, now + start);
      gain.gain.exponentialRampToValueAtTime(0.001, now + start + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + start);
      osc.stop(now + start + 0.2);
    }
  }

  function refreshEmpty() {
    empty.hidden = tbody.querySelector("tr") !== null;
  }

  function rowFrom(html) {
    const holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  // Newest first within its priority, below every row of a higher priority.
  function insertByPriority(row) {
    const rank = Number(row.dataset.rank);
    for (const other of tbody.querySelectorAll("tr")) {
      if (Number(other.dataset.rank) >= rank) {
        tbody.insertBefore(row, other);
        return;
      }
    }
    tbody.appendChild(row);
  }

  function apply(action, alert) {
    const existing = document.getElementById("alert-" + alert.id);
    if (alert.state === "resolved") {
      if (existing) existing.remove();
    } else if (existing) {
      const row = rowFrom(alert.html);
      if (existing.classList.contains("fresh") && alert.state === "open") row.classList.add("fresh");
      existing.replaceWith(row);
    } else {
      const row = rowFrom(alert.html);
      if (action === "raised") {
        row.classList.add("fresh");
        beep();
      }
      insertByPriority(row);
    }
    refreshEmpty();
  }

  function showError(status) {
    errorBox.textContent = strings["action.failed"].replace("{status}", status);
    errorBox.hidden = false;
  }

  async function post(id, verb, body) {
    const response = await fetch(`/api/v1/alerts/${id}/${verb}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    if (!response.ok) {
      showError(response.status);
      return null;
    }
    errorBox.hidden = true;
    return response.json();
  }

  function markLocally(id, state) {
    const row = document.getElementById("alert-" + id);
    if (!row) return;
    if (state === "resolved") {
      row.remove();
      refreshEmpty();
      return;
    }
    row.classList.remove("fresh", "s-open", "s-acknowledged");
    row.classList.add("s-" + state);
    row.dataset.state = state;
    row.querySelector(".state-label").textContent = strings["state." + state] || state;
    row.querySelector("button.ack").hidden = state !== "open";
    if (state !== "open") row.querySelector("form.resolve").hidden = false;
  }

  tbody.addEventListener("click", async (event) => {
    const button = event.target.closest('button[data-action="ack"]');
    if (!button) return;
    const row = button.closest("tr");
    button.disabled = true;
    const alert = await post(row.dataset.id, "ack");
    button.disabled = false;
    if (alert) markLocally(alert.id, alert.state);
  });

  tbody.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const row = form.closest("tr");
    const data = new FormData(form);
    const alert = await post(row.dataset.id, "resolve", {
      outcome: data.get("outcome"),
      note: data.get("note") || "",
    });
    if (alert) markLocally(alert.id, alert.state);
  });

  // After a dropped stream the page may have missed changes: reload it once the stream is back.
  let dropped = false;
  const source = new EventSource("/api/v1/alerts/stream");
  source.addEventListener("open", () => {
    if (dropped) {
      window.location.reload();
      return;
    }
    live.textContent = strings["console.live"];
    live.className = "live on";
  });
  source.addEventListener("error", () => {
    dropped = true;
    live.textContent = strings["console.offline"];
    live.className = "live off";
  });
  source.addEventListener("alert", (event) => {
    const change = JSON.parse(event.data);
    apply(change.action, change.alert);
  });
  // "Automatic detection is not running": shown and updated live, hidden when it runs again.
  const detectors = document.getElementById("detectors");
  source.addEventListener("platform", (event) => {
    const lines = JSON.parse(event.data).lines;
    const list = detectors.querySelector("ul");
    list.replaceChildren(...lines.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
    detectors.hidden = lines.length === 0;
  });

  // Countdown to the next escalation tier: the server says how many seconds were left when it
  // rendered the row; the page counts down from when it first showed it.
  function tick() {
    const now = performance.now();
    for (const el of document.querySelectorAll(".countdown")) {
      if (!el.dataset.shownAt) el.dataset.shownAt = String(now);
      const left = Math.max(0, Number(el.dataset.left) - (now - Number(el.dataset.shownAt)) / 1000);
      const whole = Math.ceil(left);
      const text = Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
      el.textContent = strings["console.escalates"].replace("{time}", text);
      el.classList.toggle("due", whole === 0);
    }
  }
  tick();
  window.setInterval(tick, 1000);
})();
