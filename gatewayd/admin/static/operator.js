// The operator's pages: forms marked data-confirm ask before they are sent (suspend, resets,
// disable). Without JavaScript the form is sent as is; the server needs no confirmation step.
"use strict";
document.querySelectorAll("form[data-confirm]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
});
