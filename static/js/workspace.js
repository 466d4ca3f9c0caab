// Case worker workspace: small enhancements on top of htmx. No inline scripts (CSP).
(function () {
  "use strict";

  // Validation errors (422) and refusals (409) carry a re-rendered partial: swap it in so the
  // message appears beside the field instead of being dropped as an error response.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // After the lines section is swapped, put the keyboard focus where work continues:
  // the first invalid field, else the field being edited, else the new-line description.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "lines") {
      var lines = document.getElementById("lines");
      if (!lines || !lines.contains(event.detail.elt)) {
        return;
      }
      target = lines;
    }
    var el = target.querySelector("[aria-invalid='true']") ||
      target.querySelector("tr.editing input:not([type=hidden]), tr.editing select");
    if (!el && event.detail.requestConfig && event.detail.requestConfig.verb === "post") {
      el = target.querySelector("#line-add [name$='description']");
    }
    if (el) {
      el.focus();
    }
  });

  // Escape cancels an inline edit.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var row = event.target.closest && event.target.closest("tr.editing");
    if (row) {
      var cancel = row.querySelector("button[name=cancel]");
      if (cancel) {
        cancel.click();
      }
    }
  });

  // The action panel: move focus into the confirmation form when it appears.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "action-panel") {
      // After a refused submit the error summary comes first; otherwise the first field.
      var field = event.detail.target.querySelector("[data-focus-on-load]") ||
        event.detail.target.querySelector("input:not([type=hidden]), textarea, select, button");
      if (field) {
        field.focus();
      }
    }
  });
})();

// Enter in a picker's search field searches (htmx "search" event) instead of submitting the form.
document.addEventListener("keydown", function (event) {
  if (event.key === "Enter" && event.target.matches &&
      event.target.matches("input[name=customer_q], input[name=basis_q]")) {
    event.preventDefault();
    event.target.dispatchEvent(new Event("search"));
  }
});

// "Select all" in the work list (for bulk offer sending).
document.addEventListener("change", function (event) {
  if (event.target.matches && event.target.matches("input[data-select-all]")) {
    var form = event.target.closest("form");
    form.querySelectorAll("input[name=ids]").forEach(function (box) {
      box.checked = event.target.checked;
    });
  }
});
