// The page around its live socket, as a person meets it: a lost connection is shown and the
// actions wait for it; swaps keep what was chosen and where the focus was; a run opened from
// the list comes into view; the live run is scrolled to after a start on a narrow screen.
// Focus moves only when the focused element was replaced: never away from where a person is.
(function () {
  "use strict";

  var NARROW = 700; // px: below this the cards stack, so the live run is off screen
  var ENDED = /\bstate-(completed|cancelled|failed|interrupted)\b/;
  var kept = {}; // select id -> value chosen before a swap
  var focused = null; // {id, home} of the focused element before a swap
  var landing = null; // where the focus goes once a form's button has gone with its answer

  function byId(id) { return document.getElementById(id); }

  // Reconnect soon after the server returns: at most 5 s apart, jittered.
  if (window.htmx) {
    htmx.config.wsReconnectDelay = function (retry) {
      return Math.min(5000, 500 * Math.pow(2, retry)) * (0.5 + Math.random() / 2);
    };
  }

  function setOnline(online) {
    if (document.body.classList.contains("offline") === !online) return;
    document.body.classList.toggle("offline", !online);
    var banner = byId("connection-state");
    if (banner) {
      banner.hidden = online;
      banner.textContent = online ? "" : "Connection to the server lost: reconnecting…";
    }
    document.querySelectorAll("main button, main input[type=file]").forEach(function (el) {
      if (!online && !el.disabled) { el.disabled = true; el.dataset.offline = "1"; }
      if (online && el.dataset.offline) { el.disabled = false; delete el.dataset.offline; }
    });
    if (!online) {
      document.querySelectorAll("#train-form [data-run-note]").forEach(function (note) { note.remove(); });
    }
  }

  function remember() {
    document.querySelectorAll("select[data-keep-choice]").forEach(function (select) {
      if (select.id && select.value) kept[select.id] = select.value;
    });
    var active = document.activeElement;
    if (active && active !== document.body && active.id) {
      var home = active.closest("[data-focus-home]");
      focused = { id: active.id, home: home ? home.dataset.focusHome : null };
    } else {
      focused = null;
    }
  }

  function restore() {
    Object.keys(kept).forEach(function (id) {
      var select = byId(id);
      var value = kept[id];
      if (select && Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
        select.value = value;
      }
    });
    kept = {};
    var active = document.activeElement;
    var lost = !active || active === document.body;
    if (lost && landing && byId(landing)) {
      byId(landing).focus({ preventScroll: true });
      landing = null;
    } else if (lost && focused) {
      var target = byId(focused.id) || (focused.home && byId(focused.home));
      if (target) target.focus({ preventScroll: true });
    }
    focused = null;
  }

  // A note about a run ("started", "queued") goes once that run has ended.
  function dropStaleNotes() {
    var panel = byId("run-panel");
    if (!panel || !ENDED.test(panel.className)) return;
    document.querySelectorAll("#train-form [data-run-note]").forEach(function (note) {
      if (note.dataset.runNote === panel.dataset.run) note.remove();
    });
  }

  function showDetail() {
    var title = byId("detail-title");
    if (title) title.focus();
  }

  function setup() {
    var body = document.body;
    body.addEventListener("htmx:wsOpen", function () { setOnline(true); });
    body.addEventListener("htmx:wsClose", function () { setOnline(false); });
    body.addEventListener("htmx:wsError", function () { setOnline(false); });
    body.addEventListener("htmx:wsBeforeMessage", remember);
    body.addEventListener("htmx:wsAfterMessage", function () { restore(); dropStaleNotes(); });
    body.addEventListener("htmx:beforeSwap", remember);
    // A form whose button goes with its answer (Cancel) names where the focus lands instead;
    // the socket's update may replace the form before the answer comes.
    body.addEventListener("htmx:beforeRequest", function (event) {
      var next = event.detail.elt.dataset && event.detail.elt.dataset.focusAfter;
      if (next) landing = next;
    });
    body.addEventListener("htmx:afterSettle", function (event) {
      restore();
      var target = event.detail.target;
      if (target && target.id === "run-detail") showDetail();
      if (target && target.id === "train-form" && window.innerWidth < NARROW &&
          document.querySelector("#train-form .notice[data-run-note]")) {
        var panel = byId("run-panel");
        if (panel) panel.scrollIntoView({ block: "start" });
      }
    });
    // Opened at its own address (a link, a reload, Back): the run's detail is in view.
    if (location.pathname.indexOf("/runs/") === 0) showDetail();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
