// Small progressive enhancements; no inline scripts (CSP).
document.addEventListener("click", function (event) {
  // Buttons with data-confirm ask before submitting (htmx uses hx-confirm itself).
  const el = event.target.closest("[data-confirm]");
  if (el && !el.hasAttribute("hx-confirm") && !window.confirm(el.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
// A polite live region for short confirmations ("Kopiert"); it exists before anything is written
// to it, so screen readers announce the change.
const announcer = document.createElement("div");
announcer.className = "visually-hidden";
announcer.setAttribute("role", "status");
announcer.id = "announcer";
document.body.appendChild(announcer);
function announce(text) {
  announcer.textContent = "";
  window.setTimeout(function () { announcer.textContent = text; }, 50);
}
document.addEventListener("click", function (event) {
  const el = event.target.closest("[data-copy]");
  if (el && navigator.clipboard) {
    navigator.clipboard.writeText(el.getAttribute("data-copy")).then(function () {
      el.classList.add("copied");
      announce(el.getAttribute("data-copied") || "Kopiert");
    });
  }
});
// After a failed submit the error summary at the top takes the focus (it lists the fields to fix).
const errorSummary = document.querySelector("[data-focus-on-load]");
if (errorSummary) {
  errorSummary.focus();
}
