// Platform Hub: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#element-id">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      // Restore the markup, not the text: a label's words for screen readers only
      // (<span class="visually-hidden">) must stay hidden. A second press within the
      // 1.5 s keeps the original label.
      if (!button.hasAttribute("data-copy-label")) {
        button.setAttribute("data-copy-label", button.innerHTML);
      }
      button.textContent = "Copied";
      clearTimeout(button.copiedTimer);
      button.copiedTimer = setTimeout(function () {
        button.innerHTML = button.getAttribute("data-copy-label");
        button.removeAttribute("data-copy-label");
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text.trim()).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = text.trim();
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    }
  });

  // Forms that destroy something ask first: <form data-confirm="Really?">
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Checkboxes that imply another: <input type="checkbox" data-implies="#pull-1"> ticks
  // #pull-1 too (push includes pull), and unticking #pull-1 unticks what implies it.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[type=checkbox]")) return;
    var implied = box.getAttribute("data-implies");
    if (implied && box.checked) {
      var target = document.querySelector(implied);
      if (target) target.checked = true;
    }
    if (!box.checked && box.id) {
      document.querySelectorAll('input[data-implies="#' + box.id + '"]').forEach(function (other) {
        other.checked = false;
      });
    }
  });

  // Live fragments are htmx's (hx-get + hx-trigger="every 2s" on each row or status line
  // that is in flight; the server leaves them out once it has settled, and answers 204,
  // which swaps nothing, while nothing changed). Here only what follows from them:
  // a notice such as "it becomes Active in a few seconds" names what it waits for
  // (data-until-settled="#repo-row-5") and goes once that has nothing in flight.
  function dropSettledNotices() {
    document.querySelectorAll("[data-until-settled]").forEach(function (notice) {
      var watched = document.querySelector(notice.getAttribute("data-until-settled"));
      if (!watched) return;
      var polling = watched.matches("[hx-trigger]") || watched.querySelector("[hx-trigger]");
      if (!polling) notice.remove();
    });
  }
  document.addEventListener("htmx:afterSettle", dropSettledNotices);

  // After a refused submission, focus goes to the first field that needs correcting (or
  // the form's own error list), not the top of the page.
  function focusFirstError() {
    var first = document.querySelector('main [aria-invalid="true"], main .errorlist.nonfield');
    if (!first) return;
    if (!first.matches("input, select, textarea, button")) first.setAttribute("tabindex", "-1");
    first.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    dropSettledNotices();
    focusFirstError();
  });
})();
