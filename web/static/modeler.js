// gridflow's modeler: bpmn-js Modeler with the Camunda moddle extension, and a small side panel
// for what gridflow needs on each element. Everything is written as the extension elements
// Camunda Modeler writes (lane name = role; camunda:formData/formField with
// camunda:validation/constraint "required"; camunda:properties standard_target, standard_basis,
// standard_source), through bpmn-js's modeling API so undo and the saved XML see every change.
// Save = the server's lint (the same as `gridflow lint`), then deploy when clean; problems are
// listed and their elements marked on the diagram.
// Labels come in English (the element's name) and Simplified Chinese (gridflow:label in its
// extension elements, docs/translations.md); on Chinese pages the diagram draws the Chinese
// ones and the save puts the English names back.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("modeler-config").textContent);
  const T = config.text;
  const canvasNode = document.getElementById("canvas");
  const panel = document.getElementById("panel");
  const problemList = document.getElementById("problems");
  const warningList = document.getElementById("warnings");
  const result = document.getElementById("save-result");
  let modeler, moddle, modeling, canvas, registry, overlays;
  let selected = null;
  let marked = [];
  let warned = [];

  function node(tag, attributes, children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "text") element.textContent = value;
      else if (key === "checked") element.checked = Boolean(value);
      else element.setAttribute(key, value);
    }
    for (const child of children || []) element.appendChild(child);
    return element;
  }

  // --- extension elements ------------------------------------------------------------------

  function extensionElements(element, create) {
    const bo = element.businessObject;
    let extensions = bo.get("extensionElements");
    if (!extensions && create) {
      extensions = moddle.create("bpmn:ExtensionElements", { values: [] });
      extensions.$parent = bo;
      modeling.updateProperties(element, { extensionElements: extensions });
    }
    return extensions;
  }

  function findExtension(element, type) {
    const extensions = extensionElements(element, false);
    if (!extensions) return undefined;
    return (extensions.get("values") || []).find((value) => value.$instanceOf(type));
  }

  function ensureExtension(element, type) {
    const found = findExtension(element, type);
    if (found) return found;
    const extensions = extensionElements(element, true);
    const created = moddle.create(type, {});
    created.$parent = extensions;
    const values = extensions.get("values") || [];
    modeling.updateModdleProperties(element, extensions, { values: values.concat([created]) });
    return created;
  }

  function property(element, name) {
    const properties = findExtension(element, "camunda:Properties");
    const found = properties && (properties.get("values") || []).find((p) => p.name === name);
    return found ? found.value || "" : "";
  }

  function setProperty(element, name, value) {
    const properties = ensureExtension(element, "camunda:Properties");
    const values = properties.get("values") || [];
    const existing = values.find((p) => p.name === name);
    if (existing && value === "") {
      modeling.updateModdleProperties(element, properties, {
        values: values.filter((p) => p !== existing),
      });
    } else if (existing) {
      modeling.updateModdleProperties(element, existing, { value: value });
    } else if (value !== "") {
      const created = moddle.create("camunda:Property", { name: name, value: value });
      created.$parent = properties;
      modeling.updateModdleProperties(element, properties, { values: values.concat([created]) });
    }
  }

  function formFields(element) {
    const formData = findExtension(element, "camunda:FormData");
    return formData ? formData.get("fields") || [] : [];
  }

  function isRequired(field) {
    const validation = field.get("validation");
    const constraints = validation ? validation.get("constraints") || [] : [];
    return constraints.some((c) => c.name === "required");
  }

  function setRequired(element, field, required) {
    let validation = field.get("validation");
    if (!validation) {
      if (!required) return;
      validation = moddle.create("camunda:Validation", { constraints: [] });
      validation.$parent = field;
      modeling.updateModdleProperties(element, field, { validation: validation });
    }
    const constraints = validation.get("constraints") || [];
    if (required && !constraints.some((c) => c.name === "required")) {
      const constraint = moddle.create("camunda:Constraint", { name: "required" });
      constraint.$parent = validation;
      modeling.updateModdleProperties(element, validation, {
        constraints: [constraint].concat(constraints),
      });
    } else if (!required) {
      modeling.updateModdleProperties(element, validation, {
        constraints: constraints.filter((c) => c.name !== "required"),
      });
    }
  }

  // Enum choices, one per line as "id = name", become camunda:value elements.
  function setChoices(element, field, text) {
    const values = [];
    for (const line of text.split("\n")) {
      const [id, ...rest] = line.split("=");
      if (!id.trim()) continue;
      const value = moddle.create("camunda:Value", {
        id: id.trim(),
        name: rest.join("=").trim() || id.trim(),
      });
      value.$parent = field;
      values.push(value);
    }
    modeling.updateModdleProperties(element, field, { values: values });
  }

  function addField(element) {
    const formData = ensureExtension(element, "camunda:FormData");
    const fields = formData.get("fields") || [];
    let n = fields.length + 1;
    while (fields.some((f) => f.id === "field_" + n)) n += 1;
    const field = moddle.create("camunda:FormField", {
      id: "field_" + n,
      label: "Field " + n,
      type: "string",
    });
    field.$parent = formData;
    modeling.updateModdleProperties(element, formData, { fields: fields.concat([field]) });
  }

  function removeField(element, field) {
    const formData = findExtension(element, "camunda:FormData");
    modeling.updateModdleProperties(element, formData, {
      fields: formData.get("fields").filter((f) => f !== field),
    });
  }

  // --- labels in two languages --------------------------------------------------------------

  const ZH = "zh-Hans";
  const LABELS_NS = "urn:gridflow:labels:1.0";
  const LABELS_DESCRIPTOR = {
    name: "gridflow",
    uri: LABELS_NS,
    prefix: "gridflow",
    xml: { tagAlias: "lowerCase" },
    types: [
      {
        name: "Label",
        superClass: ["Element"],
        properties: [
          { name: "lang", isAttr: true, type: "String" },
          { name: "field", isAttr: true, type: "String" },
          { name: "value", isAttr: true, type: "String" },
          { name: "property", isAttr: true, type: "String" },
          { name: "text", isBody: true, type: "String" },
        ],
      },
    ],
  };
  const drawsChinese = config.readerLanguage === ZH;
  // On Chinese pages: element id → its English name, while the diagram shows the Chinese one.
  const englishNames = new Map();

  function sameKey(label, key) {
    return (
      label.lang === ZH &&
      (label.field || "") === (key.field || "") &&
      (label.value || "") === (key.value || "") &&
      (label.property || "") === (key.property || "")
    );
  }

  function findChinese(element, key) {
    const extensions = extensionElements(element, false);
    const values = extensions ? extensions.get("values") || [] : [];
    return values.find((v) => v.$instanceOf("gridflow:Label") && sameKey(v, key));
  }

  function chinese(element, key) {
    if (!key.field && !key.property && englishNames.has(element.businessObject.id)) {
      return element.businessObject.name || "";
    }
    const found = findChinese(element, key);
    return found ? found.text || "" : "";
  }

  function setChinese(element, key, text) {
    if (!key.field && !key.property && drawsChinese) {
      // the name on the diagram is the Chinese one; the English waits for the save
      const id = element.businessObject.id;
      if (!englishNames.has(id)) englishNames.set(id, element.businessObject.name || "");
      modeling.updateLabel(element, text);
      return;
    }
    const found = findChinese(element, key);
    if (found) {
      modeling.updateModdleProperties(element, found, { text: text });
      return;
    }
    if (!text) return;
    const extensions = extensionElements(element, true);
    const attributes = { lang: ZH, text: text };
    for (const name of ["field", "value", "property"]) if (key[name]) attributes[name] = key[name];
    const created = moddle.create("gridflow:Label", attributes);
    created.$parent = extensions;
    modeling.updateModdleProperties(element, extensions, {
      values: [created].concat(extensions.get("values") || []),
    });
  }

  function english(element) {
    const id = element.businessObject.id;
    return englishNames.has(id) ? englishNames.get(id) : element.businessObject.name || "";
  }

  function setEnglish(element, text) {
    const id = element.businessObject.id;
    if (englishNames.has(id)) englishNames.set(id, text);
    else modeling.updateLabel(element, text);
  }

  function childrenNamed(parent, namespace, local) {
    return Array.from(parent.children).filter(
      (c) => c.namespaceURI === namespace && c.localName === local,
    );
  }

  function ownChineseNode(element) {
    for (const extensions of childrenNamed(element, element.namespaceURI, "extensionElements")) {
      for (const label of childrenNamed(extensions, LABELS_NS, "label")) {
        if (label.getAttribute("lang") === ZH && !label.hasAttribute("field") && !label.hasAttribute("property")) {
          return label;
        }
      }
    }
    return null;
  }

  // Chinese pages: the file's Chinese labels become the names the diagram draws.
  function toChinese(xml) {
    if (!drawsChinese) return xml;
    const doc = new DOMParser().parseFromString(xml, "application/xml");
    for (const element of doc.querySelectorAll("[id][name]")) {
      const label = ownChineseNode(element);
      if (label && label.textContent.trim()) {
        englishNames.set(element.getAttribute("id"), element.getAttribute("name"));
        element.setAttribute("name", label.textContent.trim());
      }
    }
    return new XMLSerializer().serializeToString(doc);
  }

  // ... and before the save, the names shown go back into the Chinese labels, and the English
  // names into the names.
  function toEnglish(xml) {
    if (!englishNames.size) return xml;
    const doc = new DOMParser().parseFromString(xml, "application/xml");
    for (const [id, name] of englishNames) {
      const element = Array.from(doc.querySelectorAll("[id]")).find((e) => e.getAttribute("id") === id);
      if (!element) continue;
      const shown = element.getAttribute("name") || "";
      element.setAttribute("name", name);
      let label = ownChineseNode(element);
      if (!label && shown) {
        let extensions = childrenNamed(element, element.namespaceURI, "extensionElements")[0];
        if (!extensions) {
          extensions = doc.createElementNS(element.namespaceURI, element.prefix + ":extensionElements");
          const after = childrenNamed(element, element.namespaceURI, "documentation").pop();
          element.insertBefore(extensions, after ? after.nextSibling : element.firstChild);
        }
        label = doc.createElementNS(LABELS_NS, "gridflow:label");
        label.setAttribute("lang", ZH);
        extensions.insertBefore(label, extensions.firstChild);
      }
      if (label) label.textContent = shown;
    }
    return new XMLSerializer().serializeToString(doc);
  }

  function textInput(value, rows) {
    const input = rows
      ? node("textarea", { class: "form-control form-control-sm", rows: String(rows) })
      : node("input", { class: "form-control form-control-sm" });
    input.value = value;
    return input;
  }

  function renderLabels(element) {
    panel.appendChild(node("h2", { class: "h6 mt-2", text: T.labels }));
    const en = textInput(english(element));
    en.addEventListener("change", () => setEnglish(element, en.value.trim()));
    panel.appendChild(labelled("label-en", T.english, en));
    const zh = textInput(chinese(element, {}));
    zh.addEventListener("change", () => setChinese(element, {}, zh.value.trim()));
    panel.appendChild(labelled("label-zh", T.chinese, zh));
  }

  // --- the panel ------------------------------------------------------------------------------

  function labelled(id, text, input) {
    input.id = id;
    return node("div", { class: "mb-2" }, [
      node("label", { class: "form-label mb-0", for: id, text: text }),
      input,
    ]);
  }

  function select(options, value) {
    const element = node("select", { class: "form-select form-select-sm" });
    for (const [optionValue, text] of options) {
      const option = node("option", { value: optionValue, text: text });
      if (optionValue === value) option.selected = true;
      element.appendChild(option);
    }
    return element;
  }

  function render() {
    panel.replaceChildren();
    const element = selected && selected.labelTarget ? selected.labelTarget : selected;
    if (!element) return;
    const bo = element.businessObject;
    const heading = node("p", { class: "fw-bold mb-1" }, [
      document.createTextNode((bo.name || bo.id) + " "),
      node("code", { text: bo.id }),
    ]);
    panel.appendChild(heading);
    if (element.type !== "bpmn:Process" && element.type !== "bpmn:Collaboration") {
      renderLabels(element);
    }
    if (element.type === "bpmn:Lane") {
      renderLane(element);
    } else if (element.type === "bpmn:UserTask") {
      renderUserTask(element);
    } else {
      panel.appendChild(node("p", { class: "text-muted", text: T.nothing }));
    }
  }

  function renderLane(element) {
    const name = element.businessObject.name || "";
    const known = config.roles.find(
      (r) => r.name.toLowerCase() === name.trim().toLowerCase() || r.id === name.trim(),
    );
    const options = [["", T.noRole]].concat(config.roles.map((r) => [r.name, r.name]));
    if (name && !known) options.push([name, name]);
    const chooser = select(options, known ? known.name : name);
    chooser.addEventListener("change", () => {
      modeling.updateLabel(element, chooser.value);
    });
    panel.appendChild(labelled("lane-role", T.role, chooser));
  }

  // A standard is written as an ISO 8601 duration and a basis (what the engine reads); the
  // designer sees a number and a unit. Minutes and hours keep the basis the element had
  // (calendar unless it was working time); days say their basis themselves.
  const UNITS = ["minutes", "hours", "working_days", "calendar_days"];

  function standardAsAmount(target, basis) {
    const match = /^P(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/.exec((target || "").trim().toUpperCase());
    if (!target || !match) return { amount: "", unit: "" };
    const num = (text) => (text ? parseFloat(text.replace(",", ".")) : 0);
    const [weeks, days, hours, minutes, seconds] = match.slice(1).map(num);
    const working = basis === "working";
    const allDays = weeks * (working ? 5 : 7) + days;
    const clockMinutes = hours * 60 + minutes + seconds / 60;
    if (allDays && !clockMinutes) return { amount: String(allDays), unit: working ? "working_days" : "calendar_days" };
    if (allDays) return { amount: String(allDays * 24 * 60 + clockMinutes), unit: "minutes" };
    if (clockMinutes % 60 === 0) return { amount: String(clockMinutes / 60), unit: "hours" };
    return { amount: String(clockMinutes), unit: "minutes" };
  }

  function amountAsStandard(amount, unit, basis) {
    const number = Number(amount);
    if (!amount || !unit || !Number.isFinite(number) || number <= 0) return null;
    if (unit === "working_days") return { target: "P" + number + "D", basis: "working" };
    if (unit === "calendar_days") return { target: "P" + number + "D", basis: "calendar" };
    const clockBasis = basis === "working" ? "working" : "calendar";
    if (unit === "hours") return { target: "PT" + number + "H", basis: clockBasis };
    return { target: "PT" + number + "M", basis: clockBasis };
  }

  function renderUserTask(element) {
    panel.appendChild(node("h2", { class: "h6 mt-2", text: T.standard }));
    const current = standardAsAmount(property(element, "standard_target"), property(element, "standard_basis"));
    const amount = node("input", { class: "form-control form-control-sm", type: "number", min: "0", step: "any", value: current.amount });
    const unit = select(
      [["", "—"]].concat(UNITS.map((u) => [u, T.units[u]])),
      current.unit,
    );
    const write = () => {
      const written = amountAsStandard(amount.value.trim(), unit.value, property(element, "standard_basis"));
      if (!written) return;
      setProperty(element, "standard_target", written.target);
      setProperty(element, "standard_basis", written.basis);
    };
    amount.addEventListener("change", write);
    unit.addEventListener("change", write);
    panel.appendChild(labelled("standard-amount", T.amount, amount));
    panel.appendChild(labelled("standard-unit", T.unit, unit));
    const source = node("textarea", { class: "form-control form-control-sm", rows: "2" });
    source.value = property(element, "standard_source");
    source.addEventListener("change", () => setProperty(element, "standard_source", source.value.trim()));
    panel.appendChild(labelled("standard-source", T.source, source));
    const sourceZh = textInput(chinese(element, { property: "standard_source" }), 2);
    sourceZh.addEventListener("change", () =>
      setChinese(element, { property: "standard_source" }, sourceZh.value.trim()),
    );
    panel.appendChild(labelled("standard-source-zh", T.sourceChinese, sourceZh));

    panel.appendChild(node("h2", { class: "h6 mt-3", text: T.form }));
    formFields(element).forEach((field, index) => {
      const box = node("div", { class: "border rounded p-1 mb-2 form-field", "data-field": field.id });
      const id = node("input", { class: "form-control form-control-sm", value: field.id || "" });
      id.addEventListener("change", () => modeling.updateModdleProperties(element, field, { id: id.value.trim() }));
      box.appendChild(labelled("field-id-" + index, T.fieldId, id));
      const label = node("input", { class: "form-control form-control-sm", value: field.label || "" });
      label.addEventListener("change", () => modeling.updateModdleProperties(element, field, { label: label.value }));
      box.appendChild(labelled("field-label-" + index, T.label, label));
      const labelZh = textInput(chinese(element, { field: field.id }));
      labelZh.addEventListener("change", () => setChinese(element, { field: field.id }, labelZh.value.trim()));
      box.appendChild(labelled("field-label-zh-" + index, T.fieldChinese, labelZh));
      const type = select(config.fieldTypes.map((t) => [t, t]), field.type || "string");
      type.addEventListener("change", () => modeling.updateModdleProperties(element, field, { type: type.value }));
      box.appendChild(labelled("field-type-" + index, T.type, type));
      if ((field.type || "string") === "enum") {
        const choices = node("textarea", { class: "form-control form-control-sm", rows: "3" });
        choices.value = (field.get("values") || []).map((v) => v.id + " = " + (v.name || v.id)).join("\n");
        choices.addEventListener("change", () => setChoices(element, field, choices.value));
        box.appendChild(labelled("field-choices-" + index, T.choices, choices));
        const choicesZh = textInput(
          (field.get("values") || [])
            .map((v) => v.id + " = " + chinese(element, { field: field.id, value: v.id }))
            .join("\n"),
          3,
        );
        choicesZh.addEventListener("change", () => {
          for (const line of choicesZh.value.split("\n")) {
            const [id, ...rest] = line.split("=");
            if (id.trim()) setChinese(element, { field: field.id, value: id.trim() }, rest.join("=").trim());
          }
        });
        box.appendChild(labelled("field-choices-zh-" + index, T.choicesChinese, choicesZh));
      }
      const required = node("input", { class: "form-check-input", type: "checkbox", id: "field-required-" + index, checked: isRequired(field) });
      required.addEventListener("change", () => setRequired(element, field, required.checked));
      box.appendChild(node("div", { class: "form-check mb-1" }, [
        required,
        node("label", { class: "form-check-label", for: "field-required-" + index, text: T.required }),
      ]));
      const remove = node("button", { type: "button", class: "btn btn-sm btn-outline-danger", text: T.remove });
      remove.addEventListener("click", () => removeField(element, field));
      box.appendChild(remove);
      panel.appendChild(box);
    });
    const add = node("button", { type: "button", class: "btn btn-sm btn-outline-primary", id: "add-field", text: T.addField });
    add.addEventListener("click", () => addField(element));
    panel.appendChild(add);
  }

  // --- save: lint, then deploy ----------------------------------------------------------------

  function clearMarks() {
    for (const id of marked) {
      if (registry.get(id)) canvas.removeMarker(id, "gf-problem");
    }
    for (const id of warned) {
      if (registry.get(id)) canvas.removeMarker(id, "gf-warning");
    }
    overlays.remove({ type: "gf-problem" });
    marked = [];
    warned = [];
  }

  // A finding of the check, listed with its line and element; a click selects the element.
  // Problems stop a deploy: their elements are marked and badged. Warnings (labels without
  // their Chinese) do not: listed apart, their elements outlined, not badged.
  function listFindings(list, findings, severity) {
    list.replaceChildren();
    const problem = severity === "danger";
    const seen = problem ? marked : warned;
    const marker = problem ? "gf-problem" : "gf-warning";
    for (const finding of findings) {
      const where = [finding.line ? T.line + " " + finding.line : "", finding.element_id || ""]
        .filter(Boolean)
        .join(" · ");
      const item = node("li", {
        class: "list-group-item list-group-item-" + severity,
        "data-element": finding.element_id || "",
        text: (where ? where + ": " : "") + finding.message,
      });
      const shape = finding.element_id && registry.get(finding.element_id);
      if (shape) {
        item.style.cursor = "pointer";
        item.addEventListener("click", () => modeler.get("selection").select(shape));
        if (!seen.includes(finding.element_id)) {
          canvas.addMarker(finding.element_id, marker);
          if (problem) {
            overlays.add(finding.element_id, "gf-problem", {
              position: { top: -10, right: 10 },
              html: '<div class="gf-problem-badge" title="' + finding.message.replace(/"/g, "&quot;") + '">!</div>',
            });
          }
          seen.push(finding.element_id);
        }
      }
      list.appendChild(item);
    }
  }

  function showProblems(problems) {
    listFindings(problemList, problems, "danger");
  }

  function showWarnings(warnings) {
    listFindings(warningList, warnings, "warning");
  }

  function post(url, xml) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/xml",
        "X-CSRFToken": document.querySelector("meta[name='csrf-token']").content,
      },
      body: xml,
    });
  }

  function fill(template, values) {
    return Object.entries(values).reduce((text, [key, value]) => text.replace("{" + key + "}", String(value)), template);
  }

  // Save, step 1: the server lints and says what a deploy would do (nothing is deployed).
  // Unchanged content stops here; otherwise the designer confirms the version number and the
  // running instances that stay where they are, and only then step 2 deploys.
  async function save() {
    clearMarks();
    problemList.replaceChildren();
    warningList.replaceChildren();
    result.className = "alert alert-secondary";
    result.textContent = T.saving;
    delete result.dataset.version;
    const xml = toEnglish((await modeler.saveXML({ format: true })).xml);
    let response;
    try {
      response = await post(config.previewUrl, xml);
    } catch (error) {
      result.className = "alert alert-danger";
      result.textContent = T.failed;
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (response.ok && body.warnings && body.warnings.length) showWarnings(body.warnings);
    if (response.status === 422) {
      result.className = "alert alert-danger";
      result.textContent = T.problems;
      showProblems(body.problems || []);
    } else if (response.ok && body.unchanged) {
      result.className = "alert alert-info";
      result.textContent = fill(T.unchanged, { version: body.version });
      result.dataset.unchanged = "true";
    } else if (response.ok) {
      confirmDeploy(xml, body);
    } else {
      result.className = "alert alert-danger";
      result.textContent = T.failed;
    }
  }

  function confirmDeploy(xml, preview) {
    result.className = "alert alert-warning";
    delete result.dataset.unchanged;
    const question = node("p", {
      class: "mb-2",
      id: "confirm-text",
      text: fill(T.confirm, { version: preview.version, running: preview.running_stay, latest: preview.latest_version || "" }),
    });
    const yes = node("button", { type: "button", class: "btn btn-sm btn-primary me-2", id: "confirm-deploy", text: fill(T.confirmButton, { version: preview.version }) });
    const no = node("button", { type: "button", class: "btn btn-sm btn-outline-secondary", id: "cancel-deploy", text: T.cancel });
    yes.addEventListener("click", () => deploy(xml));
    no.addEventListener("click", () => {
      result.className = "alert alert-secondary";
      result.textContent = T.cancelled;
    });
    result.replaceChildren(question, yes, no);
  }

  async function deploy(xml) {
    result.className = "alert alert-secondary";
    result.textContent = T.saving;
    let response;
    try {
      response = await post(config.deployUrl, xml);
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
      const text = fill(response.status === 201 ? T.deployed : T.unchanged, { version: body.version });
      result.replaceChildren(
        document.createTextNode(text + " "),
        node("a", { href: body.url, id: "open-version", text: T.open }),
      );
      result.dataset.version = String(body.version);
    } else {
      result.className = "alert alert-danger";
      result.textContent = body.text || T.failed;
    }
  }

  async function start() {
    const camunda = await (await fetch(config.camundaUrl)).json();
    modeler = new BpmnJS({
      container: canvasNode,
      moddleExtensions: { camunda: camunda, gridflow: LABELS_DESCRIPTOR },
    });
    const xml = await (await fetch(config.xmlUrl, { credentials: "same-origin" })).text();
    await modeler.importXML(toChinese(xml));
    moddle = modeler.get("moddle");
    modeling = modeler.get("modeling");
    canvas = modeler.get("canvas");
    registry = modeler.get("elementRegistry");
    overlays = modeler.get("overlays");
    canvas.zoom("fit-viewport");
    modeler.on("selection.changed", (event) => {
      selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
      render();
    });
    modeler.on("commandStack.changed", () => {
      if (selected && !registry.get(selected.id)) selected = null;
      render();
    });
    document.getElementById("save").addEventListener("click", save);
    window.gridflowModeler = modeler; // for tests and the console
    canvasNode.dataset.ready = "true";
  }

  start().catch((error) => {
    canvasNode.dataset.error = String(error.message || error);
    result.className = "alert alert-danger";
    result.textContent = String(error.message || error);
  });
})();
