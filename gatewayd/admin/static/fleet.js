// The fleet pages (no inline script: the CSP allows only this file).
// - The list: lines can be selected together only when they share plan and state; once one
//   is ticked, the others are disabled with the reason (the server checks it again).
// - Options: filter the choices by type (roaming, data, SMS, other).
"use strict";

(function () {
  function selection() {
    var boxes = Array.prototype.slice.call(document.querySelectorAll("input.pick-line"));
    if (!boxes.length) return;
    var count = document.getElementById("selection-count");
    var button = document.getElementById("change-options");
    function update() {
      var ticked = boxes.filter(function (b) { return b.checked; });
      var first = ticked[0];
      boxes.forEach(function (b) {
        var fits = !first || (b.dataset.plan === first.dataset.plan && b.dataset.state === first.dataset.state);
        b.disabled = !fits;
        b.closest("tr").classList.toggle("not-selectable", !fits);
      });
      if (count) {
        count.textContent = ticked.length
          ? count.dataset.some.replace("{count}", String(ticked.length))
          : count.dataset.none;
      }
      if (button) button.disabled = ticked.length === 0;
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
  }

  function kinds() {
    var buttons = Array.prototype.slice.call(document.querySelectorAll("button.kind-filter"));
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var kind = button.dataset.kind;
        buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        document.querySelectorAll("tr.option").forEach(function (row) {
          row.hidden = Boolean(kind) && row.dataset.kind !== kind;
        });
      });
    });
  }

  selection();
  kinds();
})();
