// The profile's "copy" button for a secret shown once (no inline script: CSP).
"use strict";
(function () {
  var button = document.getElementById("copy-secret");
  var secret = document.getElementById("secret");
  if (!button || !secret || !navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(secret.textContent.trim()).then(function () {
      button.textContent = button.dataset.copied;
    });
  });
})();
