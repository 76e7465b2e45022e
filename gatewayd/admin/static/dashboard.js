// The operator's dashboard: refresh its figures from /admin/dashboard.json every few seconds.
// Text only (textContent), never HTML from the server; the page works without this script.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !window.fetch) { return; }
  var labels = JSON.parse(root.getAttribute("data-labels") || "{}");
  var every = 1000 * (parseInt(root.getAttribute("data-every"), 10) || 5);

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    return td;
  }

  function fields(data) {
    root.querySelectorAll("[data-field]").forEach(function (el) {
      var value = data[el.getAttribute("data-field")];
      el.textContent = value === null || value === undefined ? "—" : String(value);
    });
  }

  function connectors(list) {
    var body = document.querySelector("#queues tbody");
    if (!body || !list.length) { return; }
    var rows = list.map(function (c) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-connector", c.name);
      var name = document.createElement("td");
      var link = document.createElement("a");
      link.href = "/admin/connectors/" + encodeURIComponent(c.name);
      link.textContent = c.name;
      name.appendChild(link);
      tr.appendChild(name);
      tr.appendChild(cell(labels[c.state] || c.state, "state state-" + c.state));
      tr.appendChild(cell(String(c.queue)));
      tr.appendChild(cell(c.tps.toFixed(1)));
      tr.appendChild(cell(c.last_error || ""));
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }

  function errors(list) {
    var body = document.querySelector("#errors tbody");
    if (!body || !list.length) { return; }
    body.replaceChildren.apply(body, list.map(function (e) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(e.code || "—"));
      tr.appendChild(cell(String(e.messages)));
      return tr;
    }));
  }

  function refresh() {
    fetch(root.getAttribute("data-source"), { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        fields(data);
        connectors(data.connectors);
        errors(data.errors);
        root.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next refresh tries again */ })
      .then(function () { window.setTimeout(refresh, every); });
  }

  window.setTimeout(refresh, every);
}());
