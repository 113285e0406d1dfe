// Protocol editor, form tab: steps are added, removed and reordered in place, a step's fields follow its method,
// and every change is checked by the server (the protocol library decides), each problem shown at its field.
// Without this script the same form posts its buttons (add a step, show the chosen methods' fields, positions,
// "remove this step") and the page is drawn again by the server.
(function () {
  "use strict";

  var CHECK_DELAY_MS = 600;

  function stepsOf(panel) {
    return Array.prototype.slice.call(panel.querySelectorAll("#protocol-steps > li.protocol-step"));
  }

  function visibleSteps(panel) {
    return stepsOf(panel).filter(function (step) {
      return !step.hidden;
    });
  }

  function field(step, suffix) {
    return step.querySelector('[name="' + step.dataset.prefix + "-" + suffix + '"]');
  }

  function showScriptControls(root) {
    root.querySelectorAll("[data-js-only]").forEach(function (element) {
      element.hidden = false;
    });
    root.querySelectorAll("[data-nojs-only]").forEach(function (element) {
      element.hidden = true;
    });
  }

  function renumber(panel) {
    visibleSteps(panel).forEach(function (step, index) {
      var number = index + 1;
      step.querySelector(".step-number").textContent = "Step " + number;
      var order = field(step, "ORDER");
      if (order) {
        order.value = String(number);
      }
      var up = step.querySelector(".step-up");
      var down = step.querySelector(".step-down");
      if (up) {
        up.setAttribute("aria-label", "Move step " + number + " up");
      }
      if (down) {
        down.setAttribute("aria-label", "Move step " + number + " down");
      }
    });
  }

  function fragment(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  function Editor(form, panel) {
    this.form = form;
    this.panel = panel;
    this.timer = null;
    this.pending = null;
    this.token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  }

  Editor.prototype.post = function (url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": this.token },
    });
  };

  // A step's fields for ``index`` drawn by the server from the step's current inputs (its method included).
  Editor.prototype.loadStep = function (index, number, step) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", this.token);
    body.append("index", String(index));
    body.append("number", String(number));
    if (step) {
      step.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (input.name && !(input.type === "checkbox" && !input.checked)) {
          body.append(input.name, input.value);
        }
      });
    }
    return this.post(this.panel.dataset.stepUrl, body).then(function (response) {
      if (!response.ok) {
        throw new Error("The step could not be drawn (" + response.status + ").");
      }
      return response.text();
    });
  };

  Editor.prototype.addStep = function () {
    var self = this;
    var total = this.form.querySelector('input[name="steps-TOTAL_FORMS"]');
    var index = parseInt(total.value, 10) || 0;
    return this.loadStep(index, visibleSteps(this.panel).length + 1, null).then(function (html) {
      var step = fragment(html);
      self.panel.querySelector("#protocol-steps").appendChild(step);
      total.value = String(index + 1);
      showScriptControls(step);
      renumber(self.panel);
      field(step, "method").focus();
    });
  };

  Editor.prototype.changeMethod = function (step) {
    var self = this;
    var index = parseInt(step.dataset.prefix.split("-").pop(), 10);
    var number = visibleSteps(this.panel).indexOf(step) + 1;
    return this.loadStep(index, number, step).then(function (html) {
      var replacement = fragment(html);
      step.replaceWith(replacement);
      showScriptControls(replacement);
      renumber(self.panel);
      field(replacement, "method").focus();
      self.scheduleCheck();
    });
  };

  Editor.prototype.remove = function (step) {
    var remove = field(step, "DELETE");
    if (remove) {
      remove.checked = true;
    }
    step.hidden = true;
    renumber(this.panel);
    this.scheduleCheck();
  };

  Editor.prototype.move = function (step, direction) {
    var steps = visibleSteps(this.panel);
    var position = steps.indexOf(step);
    var other = steps[position + direction];
    if (!other) {
      return;
    }
    if (direction < 0) {
      other.before(step);
    } else {
      other.after(step);
    }
    renumber(this.panel);
    step.classList.add("step-moved");
    window.setTimeout(function () {
      step.classList.remove("step-moved");
    }, 600);
    step.querySelector(direction < 0 ? ".step-up" : ".step-down").focus();
    this.scheduleCheck();
  };

  Editor.prototype.scheduleCheck = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () {
      self.check();
    }, CHECK_DELAY_MS);
  };

  Editor.prototype.check = function () {
    var self = this;
    var request = this.post(this.panel.dataset.checkUrl, new FormData(this.form)).then(function (response) {
      return response.json();
    });
    this.pending = request;
    return request.then(function (answer) {
      if (self.pending === request) {
        self.show(answer);
      }
    });
  };

  Editor.prototype.show = function (answer) {
    var form = this.form;
    form.querySelectorAll(".field-error").forEach(function (element) {
      element.remove();
    });
    form.querySelectorAll(".is-invalid").forEach(function (element) {
      element.classList.remove("is-invalid");
    });
    var list = document.getElementById("form-problem-list");
    list.replaceChildren();
    answer.problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.textContent = problem.text;
      list.appendChild(item);
      var place = problem.name && form.querySelector('[data-field="' + problem.name + '"]');
      if (!place) {
        return;
      }
      var message = document.createElement("div");
      message.className = "invalid-feedback d-block field-error";
      message.textContent = problem.text;
      place.appendChild(message);
      var input = place.querySelector("input, select, textarea");
      if (input) {
        input.classList.add("is-invalid");
      }
    });
    document.getElementById("form-problems").classList.toggle("d-none", answer.problems.length === 0);
    document.getElementById("form-valid").classList.toggle("d-none", !answer.valid);
    document.getElementById("form-chain").textContent = answer.valid ? answer.chain.join(" → ") : "";
    var hint = document.getElementById("form-check-hint");
    if (hint) {
      hint.remove();
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("protocol-editor");
    var panel = document.getElementById("form-panel");
    if (!form || !panel || !window.fetch) {
      return;
    }
    var editor = new Editor(form, panel);
    showScriptControls(panel);

    panel.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) {
        return;
      }
      var step = button.closest("li.protocol-step");
      if (button.id === "add-step") {
        event.preventDefault();
        editor.addStep();
      } else if (step && button.classList.contains("step-remove")) {
        editor.remove(step);
      } else if (step && button.classList.contains("step-up")) {
        editor.move(step, -1);
      } else if (step && button.classList.contains("step-down")) {
        editor.move(step, 1);
      }
    });

    panel.addEventListener("change", function (event) {
      if (event.target.matches("select.step-method")) {
        editor.changeMethod(event.target.closest("li.protocol-step"));
      } else {
        editor.scheduleCheck();
      }
    });
    panel.addEventListener("input", function (event) {
      if (!event.target.matches("select")) {
        editor.scheduleCheck();
      }
    });
    var lab = form.querySelector("select[name=lab]");
    if (lab) {
      lab.addEventListener("change", function () {
        editor.scheduleCheck();
      });
    }
  });
})();
