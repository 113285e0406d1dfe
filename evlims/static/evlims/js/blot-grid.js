// Western blot form: "Add a lane" and "Add a marker" add a row or a column in the page instead of sending the form
// (without scripts the buttons send it and the page comes back one row or column larger, values kept), and Enter in
// a lane's barcode moves to the next lane (a scanner ends each barcode with Enter) instead of sending the form.
(function () {
  "use strict";
  var grid = document.getElementById("blot-grid");
  if (!grid) return;
  var laneCount = document.getElementById("lane-count");
  var markerCount = document.getElementById("marker-count");

  function renumber(element, pattern, replacement) {
    ["id", "name", "for"].forEach(function (attribute) {
      element.querySelectorAll("[" + attribute + "]").forEach(function (node) {
        node.setAttribute(attribute, node.getAttribute(attribute).replace(pattern, replacement));
      });
    });
  }

  function cleared(element) {
    element.querySelectorAll(".invalid-feedback, .form-check").forEach(function (node) { node.remove(); });
    element.querySelectorAll(".is-invalid").forEach(function (node) { node.classList.remove("is-invalid"); });
    element.classList.remove("table-danger");
    element.querySelectorAll("input[type=text]").forEach(function (node) { node.value = ""; });
    element.querySelectorAll("select").forEach(function (node) { node.selectedIndex = 0; });
    return element;
  }

  function labelled(element, from, to, word) {
    element.querySelectorAll("label, .input-group-text").forEach(function (node) {
      node.textContent = node.textContent.replace(word + " " + from, word + " " + to).replace(/^\d+$/, String(to));
    });
  }

  function addLane() {
    var rows = grid.tBodies[0].rows;
    var last = rows[rows.length - 1];
    var index = rows.length;
    var row = cleared(last.cloneNode(true));
    row.id = "lane-" + index;
    row.dataset.lane = String(index);
    renumber(row, /^lane-\d+-/, "lane-" + index + "-");
    labelled(row, index, index + 1, "Lane");
    grid.tBodies[0].appendChild(row);
    laneCount.value = String(index + 1);
    return row.querySelector("input[name$='-preparation']");
  }

  function addMarker() {
    var header = grid.tHead.rows[0];
    var index = header.cells.length - 1;
    var th = cleared(header.cells[index].cloneNode(true));
    th.dataset.marker = String(index);
    renumber(th, /^marker-\d+-/, "marker-" + index + "-");
    labelled(th, index, index + 1, "Marker");
    header.appendChild(th);
    Array.prototype.forEach.call(grid.tBodies[0].rows, function (row) {
      var td = cleared(row.cells[row.cells.length - 1].cloneNode(true));
      td.dataset.marker = String(index);
      renumber(td, /-(band|value)-\d+$/, "-$1-" + index);
      td.querySelectorAll("label").forEach(function (node) {
        node.textContent = node.textContent.replace(/marker \d+/, "marker " + (index + 1));
      });
      row.appendChild(td);
    });
    markerCount.value = String(index + 1);
    th.querySelector("input").focus();
  }

  document.getElementById("add-lane").addEventListener("click", function (event) {
    event.preventDefault();
    addLane().focus();
  });
  document.getElementById("add-marker").addEventListener("click", function (event) {
    event.preventDefault();
    addMarker();
  });
  // Enter in a field would "click" the form's first button (Add a lane): it is kept from sending the form.
  grid.closest("form").addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches("input:not([type=file])")) return;
    event.preventDefault();
    if (!event.target.name.endsWith("-preparation")) return;
    var row = event.target.closest("tr");
    var next = row.nextElementSibling;
    (next ? next.querySelector("input[name$='-preparation']") : addLane()).focus();
  });
})();
