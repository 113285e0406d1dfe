// Drag a rectangle on the flow density plot: its bounds, in the axes' units, fill the next empty gate row.
(function () {
  "use strict";
  function setup() {
    var svg = document.querySelector("svg.flow-density");
    if (!svg) return;
    var box = svg.querySelector("rect.flow-drag");
    var d = svg.dataset;
    var left = +d.left, top = +d.top, width = +d.width, height = +d.height;
    var start = null;
    function point(event) {
      var p = svg.createSVGPoint();
      p.x = event.clientX; p.y = event.clientY;
      var local = p.matrixTransform(svg.getScreenCTM().inverse());
      return { x: Math.min(Math.max(local.x, left), left + width), y: Math.min(Math.max(local.y, top), top + height) };
    }
    function value(pixel, lo, hi, log, fromLeft) {
      var t = fromLeft ? (pixel - left) / width : (top + height - pixel) / height;
      var v = +lo + t * (+hi - +lo);
      return log === "1" ? Math.pow(10, v) : v;
    }
    function rounded(v) { return Number(v.toPrecision(3)); }
    svg.addEventListener("mousedown", function (event) { start = point(event); event.preventDefault(); });
    svg.addEventListener("mousemove", function (event) {
      if (!start) return;
      var p = point(event);
      box.setAttribute("x", Math.min(start.x, p.x)); box.setAttribute("y", Math.min(start.y, p.y));
      box.setAttribute("width", Math.abs(p.x - start.x)); box.setAttribute("height", Math.abs(p.y - start.y));
    });
    window.addEventListener("mouseup", function (event) {
      if (!start) return;
      var p = point(event), first = start;
      start = null;
      if (Math.abs(p.x - first.x) < 3 || Math.abs(p.y - first.y) < 3) return;
      var rows = document.querySelectorAll("#gate-form tr.gate-row");
      for (var i = 0; i < rows.length; i++) {
        var name = rows[i].querySelector("input[name$='_name']");
        if (name && !name.value) {
          var set = function (suffix, v) { var el = rows[i].querySelector("[name$='_" + suffix + "']"); if (el) el.value = v; };
          name.value = "Gate " + (i + 1);
          set("x", d.x); set("y", d.y);
          set("x_min", rounded(value(Math.min(first.x, p.x), d.x0, d.x1, d.xlog, true)));
          set("x_max", rounded(value(Math.max(first.x, p.x), d.x0, d.x1, d.xlog, true)));
          set("y_min", rounded(value(Math.max(first.y, p.y), d.y0, d.y1, d.ylog, false)));
          set("y_max", rounded(value(Math.min(first.y, p.y), d.y0, d.y1, d.ylog, false)));
          name.focus();
          return;
        }
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup); else setup();
})();
