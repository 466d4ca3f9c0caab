// The related-cases panel on the basis page (templates/integrations/_basis_cases_panel.html), on top of
// htmx. No inline scripts (CSP).
(function () {
  "use strict";

  // After the panel is swapped: an error summary or a confirmation takes the focus (it is read out);
  // "Endre" puts it in the form. The first load of the panel moves nothing.
  document.addEventListener("htmx:afterSettle", function (event) {
    var panel = document.getElementById("related-cases");
    if (!panel) {
      return;
    }
    var el = panel.querySelector("[data-focus-after-swap]:not([data-focused])");
    var config = event.detail.requestConfig || {};
    if (!el && config.verb === "get" && config.elt && config.elt.hasAttribute &&
        config.elt.hasAttribute("data-focus-form")) {
      el = panel.querySelector("#case-link input:not([type=hidden]), #case-link select");
    }
    if (el) {
      el.setAttribute("data-focused", "");
      el.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.closest) {
      return;
    }
    var form = event.target.closest("form#case-link");
    if (!form || event.target.tagName === "TEXTAREA" || event.target.tagName === "BUTTON") {
      return;
    }
    if (event.target.name === "installer_q") {
      // Enter in the installer search searches (the htmx "search" trigger) instead of submitting.
      event.preventDefault();
      event.target.dispatchEvent(new Event("search"));
    } else if (event.target.tagName === "INPUT" && event.target.type !== "radio" && event.target.type !== "checkbox") {
      // Enter elsewhere submits with the main button (the search button comes first in the form).
      event.preventDefault();
      var main = form.querySelector("[data-default-submit]");
      if (main) {
        form.requestSubmit(main);
      }
    }
  });
})();
