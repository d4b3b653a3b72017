// After htmx replaces part of a page, move focus as a full page load would: to the error
// summary when there is one, otherwise to a confirmation banner, so screen readers announce it.
document.addEventListener("htmx:afterSettle", function (event) {
  var root = event.detail.elt && event.detail.elt.isConnected ? event.detail.elt : document;
  var target = root.querySelector(".govuk-error-summary") ||
    root.querySelector(".govuk-notification-banner[role=alert]");
  if (target) {
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
  }
});
