// gridflow: bpmn-js viewers on designer pages. Each .gf-diagram loads its BPMN (data-bpmn-url,
// or an inline <script type="application/xml">) and marks elements by id (data-markers:
// {element_id: css class}). data-ready="true" once drawn, data-error on failure.
(function () {
  "use strict";

  async function show(container) {
    const inline = container.querySelector("script[type='application/xml']");
    let xml = inline ? inline.textContent : "";
    if (!inline && container.dataset.bpmnUrl) {
      const response = await fetch(container.dataset.bpmnUrl, { credentials: "same-origin" });
      xml = await response.text();
    }
    const viewer = new BpmnJS({ container: container });
    try {
      await viewer.importXML(xml);
    } catch (error) {
      container.dataset.error = String(error.message || error);
      return;
    }
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport");
    const markers = JSON.parse(container.dataset.markers || "{}");
    for (const [id, marker] of Object.entries(markers)) {
      if (registry.get(id)) {
        canvas.addMarker(id, marker);
      }
    }
    container.dataset.ready = "true";
  }

  document.querySelectorAll(".gf-diagram").forEach(show);
})();
