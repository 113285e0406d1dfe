// Plate layout editor: the table of wells (a role select and a value field per well, which works without this
// script) drawn as a plate. Pick a role, then click a well or drag across several; quick fill a dilution series
// of standards; every change is written into the same fields the plain form sends, so both save the same layout.
(function () {
  "use strict";
  var form = document.getElementById("plate-layout-form");
  var table = document.getElementById("plate-grid");
  var toolbar = document.getElementById("plate-toolbar");
  if (!form || !table || !toolbar) return;
  var editable = !form.querySelector(".well-controls select:disabled");
  var cells = {};
  var rows = [];
  var columns = [];
  table.querySelectorAll("td.well").forEach(function (cell) {
    var well = cell.dataset.well;
    var match = /^([A-Z])(\d+)$/.exec(well);
    cells[well] = cell;
    if (rows.indexOf(match[1]) < 0) rows.push(match[1]);
    if (columns.indexOf(Number(match[2])) < 0) columns.push(Number(match[2]));
  });
  var ROLE_WORDS = { standard: "standard", blank: "blank", sample: "sample", empty: "empty" };

  function controls(cell) {
    return { role: cell.querySelector("select"), value: cell.querySelector("input") };
  }

  function describe(cell) {
    var c = controls(cell);
    var role = c.role.value || "empty";
    var value = c.value.value.trim();
    if (role === "standard") return { face: value ? value : "?", words: "standard " + (value ? value + " µg/mL" : "without concentration") };
    if (role === "sample") return { face: value ? value : "?", words: "sample " + (value || "without label") };
    if (role === "blank") return { face: "Blank", words: "blank" };
    return { face: "", words: "empty" };
  }

  function draw(cell) {
    var role = controls(cell).role.value || "empty";
    var shown = describe(cell);
    cell.classList.remove("role-standard", "role-blank", "role-sample", "role-empty");
    cell.classList.add("role-" + role);
    cell.querySelector(".well-face").textContent = shown.face;
    cell.setAttribute("aria-label", "Well " + cell.dataset.well + ": " + shown.words);
    cell.title = "Well " + cell.dataset.well + ": " + shown.words;
  }

  function put(cell, role, value) {
    if (!cell) return;
    var c = controls(cell);
    c.role.value = role;
    c.value.value = role === "standard" || role === "sample" ? value : "";
    var error = cell.querySelector(".well-error");
    if (error) error.remove();
    cell.classList.remove("well-invalid");
    draw(cell);
  }

  function chosen() {
    var role = toolbar.querySelector("input[name=editor-role]:checked").value;
    var value = "";
    if (role === "standard") value = document.getElementById("editor-concentration").value.trim();
    if (role === "sample") value = document.getElementById("editor-label").value.trim();
    return { role: role, value: value };
  }

  function position(well) {
    var match = /^([A-Z])(\d+)$/.exec(well);
    return match ? { row: rows.indexOf(match[1]), column: columns.indexOf(Number(match[2])) } : null;
  }

  function wellAt(row, column) {
    if (row < 0 || row >= rows.length || column < 0 || column >= columns.length) return null;
    return cells[rows[row] + columns[column]];
  }

  function rectangle(first, last) {
    var a = position(first.dataset.well);
    var b = position(last.dataset.well);
    var found = [];
    for (var row = Math.min(a.row, b.row); row <= Math.max(a.row, b.row); row++) {
      for (var column = Math.min(a.column, b.column); column <= Math.max(a.column, b.column); column++) {
        found.push(wellAt(row, column));
      }
    }
    return found;
  }

  function replicates() {
    return Number(document.getElementById("editor-replicates").value) || 1;
  }

  function assignFrom(cell, count) {
    var choice = chosen();
    var at = position(cell.dataset.well);
    for (var i = 0; i < count; i++) put(wellAt(at.row, at.column + i), choice.role, choice.value);
    check();
  }

  function number(text) {
    var value = Number(String(text).trim().replace(",", "."));
    return text !== "" && isFinite(value) ? value : null;
  }

  function fillSeries() {
    var start = position(document.getElementById("series-start").value.trim().toUpperCase());
    var top = number(document.getElementById("series-top").value);
    var factor = number(document.getElementById("series-factor").value);
    var levels = Number(document.getElementById("series-levels").value);
    var down = document.getElementById("series-direction").value === "down";
    var copies = Number(document.getElementById("series-replicates").value) || 1;
    var problem = "";
    if (!start || start.row < 0 || start.column < 0) problem = "The first well is not on this plate.";
    else if (top === null || top <= 0) problem = "Give the top concentration in µg/mL.";
    else if (factor === null || factor <= 1) problem = "The dilution factor between levels must be more than 1.";
    else if (!(levels >= 2)) problem = "A series needs 2 levels at least.";
    else if (!wellAt(start.row + (down ? levels - 1 : copies - 1), start.column + (down ? copies - 1 : levels - 1))) {
      problem = "The series does not fit on the plate from " + document.getElementById("series-start").value + ".";
    }
    if (problem) {
      say(problem);
      return;
    }
    for (var level = 0; level < levels; level++) {
      var concentration = String(Number((top / Math.pow(factor, level)).toPrecision(6)));
      for (var copy = 0; copy < copies; copy++) {
        var cell = down ? wellAt(start.row + level, start.column + copy) : wellAt(start.row + copy, start.column + level);
        put(cell, "standard", concentration);
      }
    }
    check();
  }

  function say(text) {
    document.getElementById("plate-check").textContent = text;
  }

  // The same checks as the server's, as a hint while drawing; the server decides on save.
  function check() {
    var levels = {};
    var blanks = 0;
    var samples = {};
    var unlabelled = [];
    var missing = [];
    Object.keys(cells).forEach(function (well) {
      var c = controls(cells[well]);
      var value = c.value.value.trim();
      if (c.role.value === "standard") {
        if (number(value) === null) missing.push(well);
        else if (number(value) > 0) levels[number(value)] = true;
        else blanks++;
      } else if (c.role.value === "blank") blanks++;
      else if (c.role.value === "sample") {
        if (value) samples[value] = true;
        else unlabelled.push(well);
      }
    });
    var words = [
      Object.keys(levels).length + " standard concentrations",
      blanks + " blank wells",
      Object.keys(samples).length + " samples",
    ].join(", ") + ".";
    var problems = [];
    if (Object.keys(levels).length < 3) problems.push("Standards at 3 concentrations at least are needed.");
    if (!blanks) problems.push("Mark the blank wells.");
    if (missing.length) problems.push("Standards without concentration: " + missing.join(", ") + ".");
    if (unlabelled.length) problems.push("Samples without label: " + unlabelled.join(", ") + ".");
    say(words + (problems.length ? " " + problems.join(" ") : " Ready to save."));
  }

  Object.keys(cells).forEach(function (well) {
    draw(cells[well]);
  });
  toolbar.hidden = false;
  table.classList.add("plate-js");
  document.getElementById("plate-help").textContent =
    "Choose what to put, then click a well or drag across several. Wells of a sample with the same label are its replicates.";
  check();
  if (!editable) {
    toolbar.hidden = true;
    return;
  }

  Object.keys(cells).forEach(function (well) {
    cells[well].tabIndex = 0;
    cells[well].setAttribute("role", "button");
  });

  var first = null;
  var last = null;
  function mark(on) {
    table.querySelectorAll(".well-selecting").forEach(function (cell) {
      cell.classList.remove("well-selecting");
    });
    if (on && first && last) rectangle(first, last).forEach(function (cell) {
      cell.classList.add("well-selecting");
    });
  }
  table.addEventListener("mousedown", function (event) {
    var cell = event.target.closest("td.well");
    if (!cell || event.button !== 0) return;
    event.preventDefault();
    first = last = cell;
    mark(true);
  });
  table.addEventListener("mouseover", function (event) {
    var cell = event.target.closest("td.well");
    if (!first || !cell || cell === last) return;
    last = cell;
    mark(true);
  });
  document.addEventListener("mouseup", function () {
    if (!first) return;
    if (first === last) assignFrom(first, replicates());
    else {
      var choice = chosen();
      rectangle(first, last).forEach(function (cell) {
        put(cell, choice.role, choice.value);
      });
      check();
    }
    first = last = null;
    mark(false);
  });
  table.addEventListener("keydown", function (event) {
    var cell = event.target.closest("td.well");
    if (!cell) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      assignFrom(cell, replicates());
      return;
    }
    var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (!moves[event.key]) return;
    var at = position(cell.dataset.well);
    var next = wellAt(at.row + moves[event.key][0], at.column + moves[event.key][1]);
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });
  document.getElementById("series-fill").addEventListener("click", fillSeries);
  document.getElementById("plate-clear").addEventListener("click", function () {
    Object.keys(cells).forEach(function (well) {
      put(cells[well], "empty", "");
    });
    check();
  });
})();
