// Address book: a "select all" box ticks every checkbox of its table.
document.querySelectorAll("input.select-all").forEach(function (all) {
  all.addEventListener("change", function () {
    var table = all.closest("table");
    table.querySelectorAll("tbody input[type=checkbox]").forEach(function (box) {
      box.checked = all.checked;
    });
  });
});
