// Draws the resident page's trends with the vendored uPlot (no network); times in the station's zone.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("charts").textContent || "{}");
  const zone = document.getElementById("resident-js").dataset.zone;
  const tz = (ts) => uPlot.tzDate(new Date(ts * 1e3), zone);
  for (const el of document.querySelectorAll(".chart")) {
    const series = data[el.dataset.series];
    if (!series || series.x.length === 0) {
      el.textContent = el.dataset.empty;
      el.classList.add("empty");
      continue;
    }
    const bars = el.dataset.bars === "1";
    const width = Math.max(260, el.clientWidth || 600);
    const opts = {
      width: width,
      height: 200,
      tzDate: tz,
      legend: { show: false },
      series: [
        {},
        {
          stroke: bars ? "#0b6e69" : "#c62828",
          width: 2,
          fill: bars ? "rgba(11,110,105,.35)" : undefined,
          paths: bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
        },
      ],
    };
    new uPlot(opts, [series.x, series.y], el);
    el.dataset.drawn = "1";
  }
})();
