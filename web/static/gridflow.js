// Small behaviours every page shares, in a file: the Content-Security-Policy allows no inline
// scripts and no inline event handlers.
"use strict";

// A <select data-autosubmit> sends its form when a choice is made (the language chooser).
document.addEventListener("change", (event) => {
  const select = event.target.closest ? event.target.closest("select[data-autosubmit]") : null;
  if (select && select.form) {
    select.form.submit();
  }
});

// The menu button of a narrow screen (a phone) folds the navigation open and shut.
document.addEventListener("click", (event) => {
  const button = event.target.closest ? event.target.closest("[data-toggle-menu]") : null;
  const menu = button ? document.getElementById(button.dataset.toggleMenu) : null;
  if (menu) {
    const open = menu.classList.toggle("show");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
});

// A menu drawn as <details class="gf-dropdown"> closes when one clicks elsewhere.
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.gf-dropdown[open]")) {
    if (!menu.contains(event.target)) {
      menu.open = false;
    }
  }
});

// On a phone a table of the page is drawn as a pile of cards, one per row (gridflow.css); each
// cell shows its column's heading beside it, taken here from the table's own header row, so a
// label is written (and translated) once. Tables marked .gf-tabular stay tables.
function labelCells(table) {
  const head = table.tHead ? table.tHead.rows[table.tHead.rows.length - 1] : null;
  if (!head) {
    return;
  }
  const labels = [];
  for (const th of head.cells) {
    for (let i = 0; i < th.colSpan; i += 1) {
      labels.push(th.textContent.replace(/\s+/g, " ").trim());
    }
  }
  for (const body of table.tBodies) {
    for (const row of body.rows) {
      let column = 0;
      for (const cell of row.cells) {
        if (!cell.hasAttribute("data-label") && cell.colSpan < labels.length && labels[column]) {
          cell.setAttribute("data-label", labels[column]);
        }
        column += cell.colSpan;
      }
    }
  }
}

// Every table sits in a box of its own that scrolls sideways when the table is wider than the
// screen (a table of figures on a tablet), so the page itself never does.
function boxTable(table) {
  if (table.parentElement.classList.contains("gf-table-scroll")) {
    return;
  }
  const box = document.createElement("div");
  box.className = "gf-table-scroll";
  table.parentNode.insertBefore(box, table);
  box.appendChild(table);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("main table.table")) {
    if (!table.classList.contains("gf-tabular")) {
      labelCells(table);
    }
    boxTable(table);
  }
});
