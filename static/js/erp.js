// ERP customer search in the basis form: picking a hit fills the new-customer fields (name, e-mail,
// phone, org.nr., postal address) and the ERP customer number from the hit's data-erp-* attributes. The hits come from erp:customer_search via
// htmx (templates/erp/_customer_hits.html). No inline scripts (CSP).
(function () {
  "use strict";

  // data-erp-* attribute (dataset key) → form field name
  var FIELDS = {
    erpName: "new_customer_name",
    erpEmail: "new_customer_email",
    erpPhone: "new_customer_phone",
    erpOrgnr: "new_customer_orgnr",
    erpStreet: "new_customer_street",
    erpPostalCode: "new_customer_postal_code",
    erpCity: "new_customer_city",
    erpNumber: "new_customer_erp_number"
  };

  function setField(scope, name, value) {
    var input = scope.querySelector("[name='" + name + "']");
    if (!input) {
      return;
    }
    input.value = value || "";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var hit = event.target.closest ? event.target.closest("button.erp-hit") : null;
    if (!hit) {
      return;
    }
    event.preventDefault();
    var scope = hit.closest("form") || document;
    Object.keys(FIELDS).forEach(function (key) {
      setField(scope, FIELDS[key], hit.dataset[key]);
    });
    var picked = scope.querySelector("[data-erp-picked]");
    if (picked) {
      picked.textContent = picked.dataset.erpPicked
        .replace("%(name)s", hit.dataset.erpName || "")
        .replace("%(number)s", hit.dataset.erpNumber || "");
      picked.hidden = false;
    }
    var list = hit.closest("#erp-customer-hits");
    if (list) {
      list.replaceChildren();
    }
    var name = scope.querySelector("[name='new_customer_name']");
    if (name) {
      name.focus();
    }
  });
})();
