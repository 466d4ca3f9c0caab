// Small progressive enhancements; no inline scripts (CSP).
document.addEventListener("click", function (event) {
  // Buttons with data-confirm ask before submitting (htmx uses hx-confirm itself).
  const el = event.target.closest("[data-confirm]");
  if (el && !el.hasAttribute("hx-confirm") && !window.confirm(el.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
document.addEventListener("click", function (event) {
  const el = event.target.closest("[data-copy]");
  if (el && navigator.clipboard) {
    navigator.clipboard.writeText(el.getAttribute("data-copy"));
    el.classList.add("copied");
  }
});
