/* Screening forms: show a part of the form only when an answer makes it relevant.
   <div data-show-when="decision=included"> is shown when the radio "decision" is "included";
   "decision=!included" when any other answer is chosen (or none yet). Parts holding a server
   error are never hidden, and hiding a part unticks its checkboxes, so nothing invisible is
   sent. Without JavaScript every part simply stays visible. */
(function () {
  "use strict";
  document.querySelectorAll("[data-show-when]").forEach(function (part) {
    var rule = part.getAttribute("data-show-when").split("=");
    var name = rule[0];
    var negate = rule[1].charAt(0) === "!";
    var wanted = negate ? rule[1].slice(1) : rule[1];
    var form = part.closest("form");
    var inputs = form.querySelectorAll('input[name="' + name + '"]');
    function update() {
      var checked = form.querySelector('input[name="' + name + '"]:checked');
      var current = checked ? checked.value : "";
      var show = negate ? current !== wanted : current === wanted;
      if (part.querySelector(".is-invalid, .invalid-feedback")) {
        show = true;
      }
      part.hidden = !show;
      if (!show) {
        part.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
          box.checked = false;
        });
      }
    }
    inputs.forEach(function (input) {
      input.addEventListener("change", update);
    });
    update();
  });
})();
