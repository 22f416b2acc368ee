/* VERTEBRA questionnaires: VAS sliders with no default, autosave, and the scores chart.
   Loaded from our own origin (CSP script-src 'self'); the pages work without it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // --- Autosave: every change is posted to the form's own URL with autosave=1 ---------------
  // Saves run one after another, and a Next/Previous waits for them, so that the server sees
  // the answers in the order they were given.
  // An answer that was not saved must be noticed on a phone: the quiet grey line becomes a
  // warning box, and goes back to grey once a save succeeds.
  function showProblem(status, problem) {
    status.classList.toggle("text-muted", !problem);
    status.classList.toggle("alert", problem);
    status.classList.toggle("alert-warning", problem);
    status.setAttribute("role", problem ? "alert" : "status");
  }

  function saver(form) {
    var status = form.querySelector("[data-autosave-status]");
    var queue = Promise.resolve();
    var inFlight = 0;
    var timer = null;

    function post() {
      var data = new FormData(form);
      data.append("autosave", "1");
      return fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      })
        .then(function (response) {
          // "Saved" only when the server says so in JSON: a page (a closed link's friendly
          // page is a 200) is not a save. 410/403: the link or session is over.
          var closed = response.status === 410 || response.status === 403;
          return response
            .json()
            .catch(function () { return {}; })
            .then(function (body) {
              var saved = response.ok && body.saved === true;
              if (status) {
                status.textContent = saved
                  ? status.dataset.saved
                  : closed ? status.dataset.closed : status.dataset.failed;
                showProblem(status, !saved);
              }
              form.dataset.saved = saved ? "1" : "0";
              if (closed) form.dataset.closed = "1";
            });
        })
        .catch(function () {
          if (status) {
            status.textContent = status.dataset.failed;
            showProblem(status, true);
          }
          form.dataset.saved = "0";
        });
    }

    function save() {
      clearTimeout(timer);
      inFlight += 1;
      form.dataset.saved = "";
      queue = queue.then(post).then(function () { inFlight -= 1; });
      return queue;
    }

    form.addEventListener("change", save);
    form.addEventListener("input", function (event) {
      if (event.target.matches("input[type=number], input[type=range]")) {
        clearTimeout(timer);
        timer = setTimeout(save, 350);
      }
    });
    form.addEventListener("submit", function (event) {
      clearTimeout(timer); // the form post carries the same answers
      if (inFlight === 0 || form.dataset.flushing === "1") return;
      event.preventDefault();
      var submitter = event.submitter;
      queue.then(function () {
        form.dataset.flushing = "1";
        form.requestSubmit(submitter);
      });
    });
  }

  document.querySelectorAll("form[data-autosave]").forEach(saver);

  // --- VAS: a slider without a default position, mirrored by a number field ----------------
  document.querySelectorAll("[data-vas]").forEach(function (box) {
    var slider = box.querySelector("[data-vas-slider]");
    var number = box.querySelector("[data-vas-number]");
    var status = box.querySelector("[data-vas-status]");
    var clear = box.querySelector("[data-vas-clear]");
    var notAnswered = slider.dataset.notAnswered;

    function show(value) {
      if (value === "") {
        slider.classList.add("untouched");
        slider.setAttribute("aria-valuetext", notAnswered);
        status.textContent = notAnswered.charAt(0).toUpperCase() + notAnswered.slice(1);
      } else {
        slider.classList.remove("untouched");
        slider.removeAttribute("aria-valuetext");
        status.textContent = status.dataset.template.replace("%(value)s", value);
      }
    }

    if (number.value === "") show("");
    slider.addEventListener("input", function () {
      number.value = slider.value;
      show(slider.value);
    });
    // A tap on the untouched slider at its hidden middle sends no input event; count it.
    slider.addEventListener("pointerup", function () {
      if (number.value === "") {
        number.value = slider.value;
        show(slider.value);
        number.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    number.addEventListener("input", function () {
      var value = number.value.trim();
      var n = parseInt(value, 10);
      if (value === "" || isNaN(n)) {
        show("");
        return;
      }
      if (n >= 0 && n <= 100) {
        slider.value = String(n);
        show(String(n));
      }
    });
    if (clear) {
      clear.addEventListener("click", function () {
        number.value = "";
        slider.value = "50";
        show("");
        number.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }
  });

  // --- The scores chart on the participant page -----------------------------------------
  var canvas = document.getElementById("scores-chart");
  if (canvas && window.Chart && !canvas.dataset.drawn) {
    canvas.dataset.drawn = "1";
    var source = document.getElementById(canvas.dataset.chartSource);
    var data = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.names.odi, data: data.odi, yAxisID: "y", borderColor: "#1f4e79", backgroundColor: "#1f4e79", spanGaps: true },
          { label: data.names.vas_back, data: data.vas_back, yAxisID: "y", borderColor: "#b02a37", backgroundColor: "#b02a37", spanGaps: true },
          { label: data.names.vas_leg, data: data.vas_leg, yAxisID: "y", borderColor: "#e0a800", backgroundColor: "#e0a800", borderDash: [4, 3], spanGaps: true },
          { label: data.names.eq5d, data: data.eq5d, yAxisID: "y2", borderColor: "#198754", backgroundColor: "#198754", spanGaps: true },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          y: { min: 0, max: 100, position: "left" },
          y2: { min: -0.6, max: 1, position: "right", grid: { drawOnChartArea: false } },
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      },
    });
  }
})();
