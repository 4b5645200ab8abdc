// Active-time recording for one review page. Events are [ms since epoch, kind]: "on" when the
// page is visible and focused, "off" when it is hidden or blurred, "act" on use (at most one
// every 5 s). They survive a reload of the same task (sessionStorage) and are posted with the
// form; the server computes the active time (idle stretches over 2 minutes left out).
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) { return; }
  var key = "harness-review-events-" + form.getAttribute("data-task");
  var events = [];
  try { events = JSON.parse(window.sessionStorage.getItem(key) || "[]"); } catch (e) { events = []; }
  if (!events.length && form.getAttribute("data-events")) {
    // the same page shown again after a validation error: its time so far carries on
    try { events = JSON.parse(form.getAttribute("data-events")); } catch (e) { events = []; }
    if (!Array.isArray(events)) { events = []; }
  }
  if (events.length) { events.push([Date.now(), "off"]); }  // the reload itself
  var lastAct = 0;
  function save() {
    try { window.sessionStorage.setItem(key, JSON.stringify(events)); } catch (e) { /* full */ }
  }
  function push(kind) {
    events.push([Date.now(), kind]);
    save();
  }
  function visibleFocused() {
    return document.visibilityState === "visible" && document.hasFocus();
  }
  function act() {
    var t = Date.now();
    if (t - lastAct < 5000) { return; }
    lastAct = t;
    push("act");  // use of the page means it is in front of the reviewer
  }
  push(visibleFocused() ? "on" : "off");
  document.addEventListener("visibilitychange", function () { push(visibleFocused() ? "on" : "off"); });
  window.addEventListener("focus", function () { push("on"); });
  window.addEventListener("blur", function () { push("off"); });
  ["keydown", "input", "mousedown", "scroll", "mousemove", "touchstart"].forEach(function (name) {
    window.addEventListener(name, act, { passive: true, capture: true });
  });
  form.addEventListener("submit", function () {
    events.push([Date.now(), "act"]);
    document.getElementById("events").value = JSON.stringify(events);
    try { window.sessionStorage.removeItem(key); } catch (e) { /* ignore */ }
  });
}());
