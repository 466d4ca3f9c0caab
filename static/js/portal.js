// Customer portal: a form marked data-once disables its submit button after the first submit, so a
// double click sends one request (the server is idempotent anyway). No inline scripts (CSP).
document.addEventListener("submit", function (event) {
  const form = event.target.closest("form[data-once]");
  if (!form) return;
  if (form.dataset.submitted === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "1";
  form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-disabled", "true"); });
});

// The payment status poll: swap the text only when it changed, so the live region announces a change
// once instead of every two seconds.
document.addEventListener("htmx:beforeSwap", function (event) {
  const target = event.detail.target;
  if (!target || target.id !== "payment-status") return;
  const incoming = document.createElement("div");
  incoming.innerHTML = event.detail.serverResponse;
  if (incoming.textContent.replace(/\s+/g, " ").trim() === target.textContent.replace(/\s+/g, " ").trim()) {
    event.detail.shouldSwap = false;
  }
});
