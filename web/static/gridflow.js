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
