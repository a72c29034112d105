/* gridflow audit pages: the per-link heatmap on the process diagram (bpmn-js), a running
   instance's position, a link's duration distribution and the whole-process trend (chart.js).
   Each page puts its data in <script type="application/json" id="audit-data">. */
(function () {
  "use strict";

  const holder = document.getElementById("audit-data");
  if (!holder) return;
  const data = JSON.parse(holder.textContent);
  const L = data.labels || {};

  function formatSeconds(seconds, metric) {
    if (seconds === null || seconds === undefined) return "–";
    // In words, never "0.11 WD": less than a working day in hours or minutes of working time.
    if (metric && metric.indexOf("working") >= 0 && data.working_day_s && seconds >= data.working_day_s) {
      return (seconds / data.working_day_s).toFixed(1) + " " + L.wd;
    }
    if (seconds < 3600) return Math.round(seconds / 60) + " " + L.min;
    if (seconds < 2 * 86400) return (seconds / 3600).toFixed(1) + " " + L.h;
    return (seconds / 86400).toFixed(1) + " " + L.d;
  }

  function formatMetric(value, metric) {
    if (value === null || value === undefined) return "–";
    if (metric === "breach_share") return Math.round(value * 100) + "%";
    if (metric === "count") return String(value);
    return formatSeconds(value, metric);
  }

  // Cool (green) to hot (red) by the value's place between the smallest and largest.
  function heatColour(value, low, high) {
    if (value === null || value === undefined) return "#e9ecef";
    const t = high > low ? (value - low) / (high - low) : 1;
    const hue = 120 - 120 * t;
    return "hsl(" + hue.toFixed(0) + ", 75%, " + (80 - 25 * t).toFixed(0) + "%)";
  }

  function shapeFill(registry, elementId, colour, stroke) {
    const gfx = registry.getGraphics(elementId);
    if (!gfx) return;
    const shape = gfx.querySelector(".djs-visual > rect, .djs-visual > circle, .djs-visual > polygon");
    if (shape) {
      shape.style.fill = colour;
      if (stroke) shape.style.strokeWidth = stroke;
    }
  }

  function drawDiagram(onReady) {
    const container = document.getElementById("audit-diagram");
    if (!container || !data.diagram_url || !window.BpmnJS) return;
    const viewer = new window.BpmnJS({ container: container });
    fetch(data.diagram_url, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        onReady(viewer);
        container.setAttribute("data-ready", "1");
      })
      .catch(function (error) {
        container.textContent = String(error);
      });
  }

  function heatmap(viewer) {
    const overlays = viewer.get("overlays");
    const registry = viewer.get("elementRegistry");
    const select = document.getElementById("heat-metric");
    const ids = Object.keys(data.links).filter(function (id) { return registry.get(id); });

    function paint(metric) {
      overlays.clear();
      const values = ids
        .filter(function (id) { return data.links[id].count > 0; })
        .map(function (id) { return data.links[id][metric]; })
        .filter(function (v) { return v !== null && v !== undefined; });
      const low = Math.min.apply(null, values.length ? values : [0]);
      const high = Math.max.apply(null, values.length ? values : [0]);
      let slowest = null;
      ids.forEach(function (id) {
        const v = data.links[id][metric];
        if (data.links[id].count && v !== null && v !== undefined && (slowest === null || v > data.links[slowest][metric])) {
          slowest = id;
        }
      });
      ids.forEach(function (id) {
        const link = data.links[id];
        const has = link.count > 0;
        const colour = has ? heatColour(link[metric], low, high) : "#e9ecef";
        shapeFill(registry, id, colour, id === slowest ? "4px" : null);
        const box = document.createElement("div");
        box.className = "gf-heat" + (id === slowest ? " gf-slowest" : "");
        box.setAttribute("data-element", id);
        box.style.background = colour;
        box.title = link.name + (link.standard ? " · " + L.standard + " " + link.standard : "");
        if (has) {
          box.innerHTML = "";
          const main = document.createElement("strong");
          main.textContent = formatMetric(link[metric], metric);
          box.appendChild(main);
          const line = document.createElement("div");
          line.textContent = formatSeconds(link.basis_median_s, link.basis_metric) + " · " +
            L.breaches + " " + formatMetric(link.breach_share, "breach_share") + " · " + L.count + "=" + link.count;
          box.appendChild(line);
          if (id === slowest) {
            const badge = document.createElement("span");
            badge.className = "badge bg-danger gf-slowest-badge";
            badge.textContent = L.slowest;
            box.insertBefore(badge, box.firstChild);
          }
          if (link.chart_url) {
            box.style.cursor = "pointer";
            box.addEventListener("click", function () { window.location.href = link.chart_url; });
          }
        } else {
          box.textContent = L.no_data;
        }
        overlays.add(id, "gridflow-heat", { position: { bottom: -4, left: 0 }, html: box });
      });
      // System steps are no one's links: a neutral badge with their own figures.
      Object.keys(data.steps || {}).forEach(function (id) {
        if (!registry.get(id)) { return; }
        const step = data.steps[id];
        const box = document.createElement("div");
        box.className = "gf-heat gf-system-step";
        box.setAttribute("data-element", id);
        box.title = step.name;
        const kind = document.createElement("strong");
        kind.textContent = step.kind === "call" ? L.called_process : L.system_step;
        box.appendChild(kind);
        const line = document.createElement("div");
        line.textContent = formatSeconds(step.handling_median_s, "handling_median_s") + " · " +
          L.count + "=" + step.count + (step.failures ? " · " + L.failures + " " + step.failures : "");
        box.appendChild(line);
        overlays.add(id, "gridflow-heat", { position: { bottom: -4, left: 0 }, html: box });
      });
      const root = document.getElementById("audit-diagram");
      root.setAttribute("data-metric", metric);
      root.setAttribute("data-slowest", slowest || "");
    }

    paint(select ? select.value : data.metric);
    if (select) {
      select.addEventListener("change", function () { paint(select.value); });
    }
  }

  function position(viewer) {
    const canvas = viewer.get("canvas");
    const overlays = viewer.get("overlays");
    const registry = viewer.get("elementRegistry");
    Object.keys(data.states).forEach(function (id) {
      if (!registry.get(id)) return;
      const state = data.states[id];
      const open = state === "ready" || state === "claimed";
      canvas.addMarker(id, open ? "gf-open" : "gf-done");
      if (open) {
        const badge = document.createElement("span");
        badge.className = "badge bg-warning text-dark gf-here";
        badge.setAttribute("data-element", id);
        badge.textContent = L.here;
        overlays.add(id, "gridflow-position", { position: { top: -12, right: 12 }, html: badge });
      }
    });
  }

  // A vertical dashed line at the standard, on a bar chart of equal-width bins, labelled on
  // whichever side of the line has room (never cut off at the chart's edge). A standard past
  // the last bin is named at the right edge, with an arrow.
  const standardLine = {
    id: "gridflowStandard",
    afterDatasetsDraw: function (chart) {
      if (data.standard === undefined) return;
      const x = chart.scales.x;
      const area = chart.chartArea;
      const bins = data.counts.length;
      const position = data.standard / data.width; // in bins from the left edge
      const step = x.getPixelForValue(1) - x.getPixelForValue(0);
      const left = x.getPixelForValue(0) - step / 2;
      const beyond = position > bins;
      const px = beyond ? area.right : left + position * step;
      const ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = "#dc3545";
      ctx.fillStyle = "#dc3545";
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 2;
      if (!beyond) {
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
      }
      const label = L.standard + " " + data.standard.toFixed(1) + " " + data.unit + (beyond ? " →" : "");
      const room = area.right - px - 4;
      if (!beyond && ctx.measureText(label).width <= room) {
        ctx.textAlign = "left";
        ctx.fillText(label, px + 4, area.top + 12);
      } else {
        ctx.textAlign = "right";
        ctx.fillText(label, beyond ? area.right : px - 4, area.top + 12);
      }
      ctx.restore();
    }
  };

  function distributionChart() {
    const canvas = document.getElementById("distribution-chart");
    if (!canvas || !window.Chart) return;
    const labels = data.edges.map(function (e) { return e.toFixed(1) + "–" + (e + data.width).toFixed(1); });
    const colours = data.edges.map(function (e) { return e + data.width <= data.standard ? "#198754" : "#dc3545"; });
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: L.executions, data: data.counts, backgroundColor: colours }] },
      options: {
        animation: false,
        scales: { x: { title: { display: true, text: data.unit } }, y: { beginAtZero: true, ticks: { precision: 0 } } }
      },
      plugins: [standardLine]
    });
  }

  function trendChart() {
    const canvas = document.getElementById("trend-chart");
    const select = document.getElementById("trend-process");
    if (!canvas || !window.Chart) return;
    let chart = null;
    function draw(processId) {
      const points = data.series[processId] || [];
      // Each process in its own unit: working days, or minutes and hours of clock time for
      // the short standards (repairs), never 0.11 working days.
      const unit = (data.units || {})[processId] || { label: L.working_median_days, axis: L.wd };
      if (chart) chart.destroy();
      chart = new window.Chart(canvas, {
        data: {
          labels: points.map(function (p) { return p.period; }),
          datasets: [
            { type: "bar", label: unit.label, data: points.map(function (p) { return p.value; }), yAxisID: "days", backgroundColor: "#0d6efd" },
            { type: "line", label: L.share_within_cap, data: points.map(function (p) { return p.share === null ? null : p.share * 100; }), yAxisID: "share", borderColor: "#198754" }
          ]
        },
        options: {
          animation: false,
          scales: {
            days: { position: "left", beginAtZero: true, title: { display: true, text: unit.axis } },
            share: { position: "right", min: 0, max: 100, title: { display: true, text: "%" } }
          }
        }
      });
    }
    draw(select ? select.value : data.selected);
    if (select) select.addEventListener("change", function () { draw(select.value); });
  }

  if (data.mode === "heatmap") drawDiagram(heatmap);
  if (data.mode === "instance") drawDiagram(position);
  if (data.mode === "distribution") distributionChart();
  if (data.mode === "trend") trendChart();
})();
