// "Exit this page": the button, or Shift pressed three times within two seconds, replaces
// this page with a neutral one, so the back button does not return here.
(function () {
  var button = document.querySelector(".govuk-js-exit-this-page-button");
  if (!button) return;
  function leave(event) {
    if (event) event.preventDefault();
    document.body.classList.add("app-exiting");
    document.title = "Loading";
    window.location.replace(button.getAttribute("href"));
  }
  button.addEventListener("click", leave);
  // The same exit from inside a dialog that covers the page (the timeout warning).
  document.querySelectorAll(".app-js-exit-link").forEach(function (link) {
    link.addEventListener("click", leave);
  });
  var presses = [];
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Shift") { presses = []; return; }
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < 2000; });
    presses.push(now);
    if (presses.length >= 3) leave();
  });
})();
