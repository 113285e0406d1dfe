// The top bar's search box: "/" puts the cursor in it from anywhere on a page (as Alt+K, its access key, does),
// except while typing in a field, so a scanner's next label can be read after a click elsewhere.
(function () {
  "use strict";
  function typing(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    var box = document.getElementById("top-search-q");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
})();
