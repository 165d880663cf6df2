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

  // Selects that apply on change: <select data-autosubmit>
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
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

  // Polled fragments: <div data-poll-url="..." data-poll-interval="2000"> is replaced by
  // the fragment the URL returns; the server leaves data-poll-url out once nothing is in
  // flight, which stops the polling.
  function poll(element) {
    var url = element.getAttribute("data-poll-url");
    if (!url) return;
    var interval = parseInt(element.getAttribute("data-poll-interval") || "2000", 10);
    setTimeout(function () {
      if (!document.body.contains(element)) return;
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          if (!fresh) return;
          element.replaceWith(fresh);
          poll(fresh);
        })
        .catch(function () { poll(element); });
    }, interval);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll-url]").forEach(poll);
  });
})();
