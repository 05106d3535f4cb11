// Behaviours every page shares, declared with data- attributes instead of inline handlers (the
// Content-Security-Policy allows scripts from our own files only), and the CSRF token for fetch().
(function () {
  "use strict";

  // The CSRF token of this page's session, for requests the page's own scripts make.
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  window.Hotline = { csrfToken: csrfToken };

  // <form data-confirm="..."> and <button data-confirm="..."> ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-no-submit")) { event.preventDefault(); return; }
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // <select data-autosubmit> submits its form on change; <button data-print> prints the page.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) { el.form.submit(); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) { window.print(); }
  });
})();
