// Lab administration: the copy button next to a newly issued API key, and the history entry of the form that
// issued it replaced by the page's address, so reloading fetches the instrument again (without the key) instead
// of sending the form a second time and issuing another key.
(function () {
  "use strict";
  if (document.getElementById("issued-key") && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.href);
  }
  function copied(button) {
    button.textContent = "Copied";
    button.classList.replace("btn-dark", "btn-success");
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var field = document.getElementById(button.dataset.copyTarget);
    if (!field) return;
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { copied(button); }, function () {
        if (document.execCommand("copy")) copied(button);
      });
    } else if (document.execCommand("copy")) {
      copied(button);
    }
  });
})();
