// The installer's home page follows gateway status, device signal/battery and test alarms live.
"use strict";
(function () {
  const root = document.getElementById("install");
  const strings = JSON.parse(document.getElementById("install-strings").textContent);
  const POLL_MS = 1500; // quick enough to watch a gateway come online while standing next to it
  const text = (v, unit) => (v === null || v === undefined ? "—" : Math.round(v) + unit);
  function cell(row, value, cls) {
    const td = document.createElement("td");
    td.textContent = value;
    if (cls) td.className = cls;
    row.appendChild(td);
  }
  function render(data) {
    for (const el of document.querySelectorAll(".gw-state")) {
      const state = data.gateways[el.dataset.gateway] || "unknown";
      el.className = "gw-state st-" + state;
      el.textContent = strings[state];
    }
    const body = document.getElementById("device-rows");
    body.replaceChildren();
    if (data.devices.length === 0) {
      const tr = document.createElement("tr");
      cell(tr, strings.none, "muted");
      body.appendChild(tr);
    }
    for (const d of data.devices) {
      const tr = document.createElement("tr");
      tr.id = "device-" + d.key;
      cell(tr, d.room_label);
      cell(tr, d.kind_label + " · " + d.key);
      cell(tr, text(d.signal, ""), "signal");
      cell(tr, text(d.battery, "%"), "battery");
      cell(tr, d.seen || "—");
      body.appendChild(tr);
    }
    const sent = document.getElementById("test-sent");
    if (sent && data.tests.length > 0) sent.hidden = true;
    const tests = document.getElementById("test-results");
    tests.replaceChildren();
    for (const t of data.tests) {
      const li = document.createElement("li");
      li.className = "test-passed";
      li.textContent = strings.passed + " · " + t.gateway + " · " + t.raised;
      tests.appendChild(li);
    }
  }
  async function poll() {
    try {
      const response = await fetch(root.dataset.live, { credentials: "same-origin" });
      if (response.ok) render(await response.json());
    } finally {
      window.setTimeout(poll, POLL_MS);
    }
  }
  poll();
})();
