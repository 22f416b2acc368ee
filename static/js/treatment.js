/* PVP procedure form: one row of details per treated vertebra. Every level's row is in the
   page; a row is shown only while its vertebra is picked on the spine (the server reads only
   the picked rows). Without JavaScript every row stays visible. */
(function () {
  "use strict";
  var form = document.querySelector('[data-testid="procedure-form"]');
  if (!form) {
    return;
  }
  var empty = form.querySelector(".level-rows-empty");
  function update() {
    var any = false;
    form.querySelectorAll("[data-level-row]").forEach(function (row) {
      var code = row.getAttribute("data-level-row");
      var box = form.querySelector('input[name="levels"][value="' + code + '"]');
      var show = !!(box && box.checked);
      row.hidden = !show;
      any = any || show;
    });
    if (empty) {
      empty.hidden = any;
    }
  }
  form.querySelectorAll('input[name="levels"]').forEach(function (box) {
    box.addEventListener("change", update);
  });
  update();
})();
