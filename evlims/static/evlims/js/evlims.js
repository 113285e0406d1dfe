// Small behaviours of evlims pages; every page works without them.
(function () {
  "use strict";

  // Show only the pre-analytical groups that apply to the chosen biofluid.
  function toggleGroups(select) {
    document.querySelectorAll("fieldset[data-biofluids]").forEach(function (fieldset) {
      var codes = fieldset.dataset.biofluids.split(",");
      fieldset.hidden = codes.indexOf(select.value) === -1;
    });
  }

  function initTooltips(root) {
    if (!window.bootstrap) {
      return;
    }
    root.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (element) {
      window.bootstrap.Tooltip.getOrCreateInstance(element);
    });
  }

  // "?focus=<field>" (the compliance page's fix links) focuses that form field and scrolls it into view,
  // opening a collapsed section or a pre-analytical group hidden for another biofluid on the way.
  function focusRequestedField() {
    var name = new URLSearchParams(window.location.search).get("focus");
    if (!name || !/^[A-Za-z0-9_-]+$/.test(name)) {
      return;
    }
    var field = document.getElementById("id_" + name) || document.querySelector('[name="' + name + '"]');
    if (!field) {
      return;
    }
    for (var node = field.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") {
        node.open = true;
      } else if (node.tagName === "FIELDSET" && node.hidden) {
        node.hidden = false;
      } else if (node.classList && node.classList.contains("collapse")) {
        node.classList.add("show");
      }
    }
    field.focus();
    field.scrollIntoView({ block: "center" });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("[data-biofluid-select]");
    if (select) {
      toggleGroups(select);
      select.addEventListener("change", function () {
        toggleGroups(select);
      });
    }
    initTooltips(document);
    focusRequestedField();

    // "Select all" checkboxes for label printing.
    document.querySelectorAll("[data-select-all]").forEach(function (master) {
      master.addEventListener("change", function () {
        document.querySelectorAll(master.dataset.selectAll).forEach(function (box) {
          box.checked = master.checked;
        });
      });
    });
  });

  // Picking a free cell in the box grid fills the position field of the move form.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.pick-cell");
    if (!button) {
      return;
    }
    event.preventDefault();
    var input = document.getElementById("id_position");
    if (input) {
      input.value = button.dataset.position;
    }
    document.querySelectorAll(".cell-picked").forEach(function (cell) {
      cell.classList.remove("cell-picked");
    });
    button.closest("td").classList.add("cell-picked");
  });
})();
