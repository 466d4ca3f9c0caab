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

// A table wider than the screen scrolls inside its .table-wrap: make that box reachable by keyboard
// (tab to it, then arrow keys) and name it, only while it actually overflows.
function markScrollables() {
  document.querySelectorAll(".table-wrap").forEach(function (wrap) {
    const overflows = wrap.scrollWidth > wrap.clientWidth + 1;
    if (overflows && !wrap.hasAttribute("tabindex")) {
      const caption = wrap.querySelector("caption");
      const section = wrap.closest("section");
      const heading = section && section.querySelector("h1, h2, h3");
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", ((caption || heading || {}).textContent || "Tabell").trim());
      wrap.dataset.scrollable = "1";
    } else if (!overflows && wrap.dataset.scrollable) {
      ["tabindex", "role", "aria-label", "data-scrollable"].forEach(function (a) { wrap.removeAttribute(a); });
    }
  });
}
markScrollables();
window.addEventListener("resize", markScrollables);
document.addEventListener("htmx:afterSettle", markScrollables);
