// Protocol editor: an uploaded YAML file is read into the editor and checked at once; Tab indents.
// Without this script the file is sent with the form and checked on saving.
(function () {
  "use strict";

  var INDENT = "  ";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("protocol-editor");
    if (!form) {
      return;
    }
    var editor = form.querySelector("textarea[name=source_text]");
    var upload = form.querySelector("input[type=file][name=source_file]");

    if (upload && editor && window.FileReader) {
      upload.addEventListener("change", function () {
        var file = upload.files && upload.files[0];
        if (!file) {
          return;
        }
        var reader = new FileReader();
        reader.onload = function () {
          editor.value = String(reader.result).replace(/^\uFEFF/, "");
          // The editor now holds the file's text; clearing the input keeps later edits from being
          // overwritten by the file on saving.
          upload.value = "";
          editor.dispatchEvent(new Event("validate-now"));
        };
        reader.readAsText(file, "utf-8");
      });
    }

    if (editor) {
      editor.addEventListener("keydown", function (event) {
        if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) {
          return;
        }
        event.preventDefault();
        var start = editor.selectionStart;
        editor.setRangeText(INDENT, start, editor.selectionEnd, "end");
        editor.dispatchEvent(new Event("input", { bubbles: true }));
      });
    }
  });
})();
