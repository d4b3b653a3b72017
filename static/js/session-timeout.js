// The timeout warning: shortly before the idle timeout ends the session, a dialog says so and
// offers "Stay signed in". Activity in any tab of this site counts (shared through
// localStorage), as does every htmx request. When the time runs out the dialog says the person
// has been signed out, and leaves the page as it is so nothing typed is lost.
(function () {
  "use strict";
  var dialog = document.getElementById("session-timeout");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var idle = Number(dialog.getAttribute("data-idle-seconds")) || 3600;
  // The server records activity at most once a minute, so its clock may have started up to a
  // minute before this page loaded: count from then, to be sure of warning in time.
  var slack = Math.min(60, Math.floor(idle / 4));
  var warnBefore = Math.min(120, Math.floor(idle / 2));
  var key = "elearn-last-activity";
  var warning = dialog.querySelector("[data-state=warning]");
  var ended = dialog.querySelector("[data-state=ended]");
  var countdown = dialog.querySelector(".app-timeout__countdown");
  var status = dialog.querySelector("[role=status]");
  var signIn = dialog.querySelector("[data-action=sign-in]");
  var timer = null;
  var spoken = "";

  function lastActivity() {
    var shared = 0;
    try { shared = Number(window.localStorage.getItem(key)) || 0; } catch (e) { /* private mode */ }
    return Math.max(shared, started);
  }
  function recordActivity() {
    started = Date.now();
    try { window.localStorage.setItem(key, String(started)); } catch (e) { /* private mode */ }
  }
  function words(seconds) {
    if (seconds >= 60) {
      var minutes = Math.ceil(seconds / 60);
      return minutes + (minutes === 1 ? " minute" : " minutes");
    }
    var rounded = Math.max(10, Math.ceil(seconds / 10) * 10);
    return rounded + " seconds";
  }
  function show(state) {
    warning.hidden = state !== "warning";
    ended.hidden = state !== "ended";
    dialog.setAttribute("aria-labelledby", state === "warning" ? "session-timeout-title" : "session-timeout-ended-title");
    dialog.setAttribute("aria-describedby", state === "warning" ? "session-timeout-text" : "session-timeout-ended-text");
    if (!dialog.open) dialog.showModal();
    var heading = (state === "warning" ? warning : ended).querySelector("h2");
    heading.focus();
  }
  function tick() {
    var left = Math.round((lastActivity() + (idle - slack) * 1000 - Date.now()) / 1000);
    if (left <= 0) {
      window.clearInterval(timer);
      timer = null;
      signIn.href = "/account/sign-in?reason=timeout&next=" +
        encodeURIComponent(window.location.pathname + window.location.search);
      show("ended");
      return;
    }
    if (left > warnBefore) {
      if (dialog.open && !warning.hidden) dialog.close();
      return;
    }
    var text = words(left);
    if (text !== spoken) {
      spoken = text;
      countdown.textContent = text;
      status.textContent = "You will be signed out in " + text + ".";
    }
    if (!dialog.open) show("warning");
  }
  function watch() {
    if (timer === null) timer = window.setInterval(tick, 1000);
  }
  function staySignedIn() {
    var token = document.querySelector("input[name=csrf_token]");
    fetch("/account/session", {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRF-Token": token ? token.value : "", "Accept": "application/json" },
    }).then(function (response) {
      if (response.ok) {
        recordActivity();
        spoken = "";
        dialog.close();
      } else {
        tick();
      }
    }, function () { tick(); });
  }

  var started = Date.now();
  recordActivity();
  dialog.querySelector("[data-action=stay]").addEventListener("click", staySignedIn);
  dialog.querySelector("[data-action=close]").addEventListener("click", function () { dialog.close(); });
  // Escape while warned means "stay signed in", as the pattern expects; once signed out it closes.
  dialog.addEventListener("cancel", function (event) {
    if (!warning.hidden) { event.preventDefault(); staySignedIn(); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.successful) recordActivity();
  });
  window.addEventListener("storage", function (event) {
    if (event.key === key && dialog.open && !warning.hidden) tick();
  });
  watch();
})();
