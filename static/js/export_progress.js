// Polls the export's status and moves the progress bar; shows the download button when ready.
// No inline script or style: the CSP forbids them, so the width is set through the CSSOM.
(function () {
  "use strict";
  var box = document.getElementById("export-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector(".js-bar");
  var status = box.querySelector(".js-status");
  var error = box.querySelector(".js-error");
  var download = box.querySelector(".js-download");
  var wrapper = box.querySelector(".progress");

  function show(data) {
    bar.style.width = data.progress + "%";
    bar.textContent = data.progress + "%";
    wrapper.setAttribute("aria-valuenow", String(data.progress));
    status.textContent = data.status_display;
    error.textContent = data.error || "";
    if (data.status === "done") { download.classList.remove("d-none"); }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        show(data);
        if (!data.done) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
