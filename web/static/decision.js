// gridflow's decision tables: dmn-js draws a deployed version (mode "view") or edits it (mode
// "edit", with the Camunda moddle extension so camunda:* attributes survive a save). "Check and
// deploy" sends the saved DMN to the server, which runs the same lint as `gridflow lint` and
// deploys only a clean file; problems are listed with their rule and line.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("decision-config").textContent);
  const T = config.text || {};
  const container = document.getElementById("table");
  const problemList = document.getElementById("problems");
  const result = document.getElementById("save-result");
  let dmn;

  function node(tag, attributes, children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "text") element.textContent = value;
      else element.setAttribute(key, value);
    }
    for (const child of children || []) element.appendChild(child);
    return element;
  }

  function showProblems(problems) {
    problemList.replaceChildren();
    for (const problem of problems) {
      const where = [problem.line ? T.line + " " + problem.line : "", problem.element_id || ""]
        .filter(Boolean)
        .join(" · ");
      problemList.appendChild(
        node("li", {
          class: "list-group-item list-group-item-danger",
          "data-element": problem.element_id || "",
          text: (where ? where + ": " : "") + problem.message,
        }),
      );
    }
  }

  async function save() {
    problemList.replaceChildren();
    result.className = "alert alert-secondary";
    result.textContent = T.saving;
    const { xml } = await dmn.saveXML({ format: true });
    let response;
    try {
      response = await fetch(config.deployUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/xml",
          "X-CSRFToken": document.querySelector("meta[name='csrf-token']").content,
        },
        body: xml,
      });
    } catch (error) {
      result.className = "alert alert-danger";
      result.textContent = T.failed;
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 422) {
      result.className = "alert alert-danger";
      result.textContent = T.problems;
      showProblems(body.problems || []);
    } else if (response.ok) {
      result.className = "alert alert-success";
      const text = (response.status === 201 ? T.deployed : T.unchanged).replace("{version}", body.version);
      result.replaceChildren(
        document.createTextNode(text + " "),
        node("a", { href: body.url, id: "open-version", text: T.open }),
      );
      result.dataset.version = String(body.version);
    } else {
      result.className = "alert alert-danger";
      result.textContent = T.failed;
    }
  }

  async function start() {
    const options = { container: container, common: { keyboard: { bindTo: window } } };
    if (config.mode === "edit") {
      const camunda = await (await fetch(config.camundaUrl)).json();
      options.moddleExtensions = { camunda: camunda };
    }
    dmn = new DmnJS(options);
    const xml = await (await fetch(config.xmlUrl, { credentials: "same-origin" })).text();
    await dmn.importXML(xml);
    // Open the table itself, not the requirements diagram around it.
    const view = dmn
      .getViews()
      .find((v) => v.type === "decisionTable" && v.element.id === config.decisionId);
    if (view) await dmn.open(view);
    if (config.mode === "edit") document.getElementById("save").addEventListener("click", save);
    window.gridflowDecision = dmn; // for tests and the console
    container.dataset.ready = "true";
  }

  start().catch((error) => {
    container.dataset.error = String(error.message || error);
    if (result) {
      result.className = "alert alert-danger";
      result.textContent = String(error.message || error);
    }
  });
})();
