/* The live quote on /borrow/ and /calculator/: as the amount, term or method change, ask
   /quote/ for the plan and show it. Every page works without this script (its form shows the
   plan from the server); this only saves the press of a button.

   Markup it expects: a form with data-quote-url and fields named amount, term and method; in
   the same <section>, a [data-quote-summary] holding [data-quote-text="<key>"] elements (set to
   the quote's text[key]) and a [data-quote-rows] table body, and a [data-quote-error] element.
   The server words every string (in the page's language); this only copies them in, with
   textContent: nothing it receives is ever parsed as HTML. */
(function () {
  "use strict";

  var DELAY_MS = 250;
  var FIELDS = ["amount", "term", "method"];

  function value(form, name) {
    var field = form.elements.namedItem(name);
    return field && "value" in field ? String(field.value).trim() : "";
  }

  function show(summary, errorBox, quote) {
    summary.querySelectorAll("[data-quote-text]").forEach(function (el) {
      var text = (quote.text && quote.text[el.getAttribute("data-quote-text")]) || "";
      el.textContent = text;
      el.hidden = text === "";
    });
    var body = summary.querySelector("[data-quote-rows]");
    if (body) {
      var rows = document.createDocumentFragment();
      (quote.rows || []).forEach(function (cells) {
        var tr = document.createElement("tr");
        cells.forEach(function (cell) {
          var td = document.createElement("td");
          td.textContent = String(cell);
          tr.appendChild(td);
        });
        rows.appendChild(tr);
      });
      body.replaceChildren(rows);
    }
    summary.hidden = false;
    if (errorBox) {
      errorBox.hidden = true;
      errorBox.textContent = "";
    }
  }

  function showErrors(summary, errorBox, errors) {
    var messages = [];
    Object.keys(errors || {}).forEach(function (field) {
      messages = messages.concat(errors[field]);
    });
    summary.hidden = true;
    if (errorBox) {
      errorBox.textContent = messages.join(" ");
      errorBox.hidden = messages.length === 0;
    }
  }

  function attach(form) {
    var scope = form.closest("section") || document;
    var summary = scope.querySelector("[data-quote-summary]");
    var errorBox = scope.querySelector("[data-quote-error]");
    if (!summary || !window.fetch || !window.AbortController) {
      return; // the server-rendered form still works
    }
    var timer = null;
    var inFlight = null;

    function ask() {
      if (value(form, "amount") === "") {
        summary.hidden = true;
        return;
      }
      var url = new URL(form.getAttribute("data-quote-url"), window.location.href);
      FIELDS.forEach(function (name) {
        url.searchParams.set(name, value(form, name));
      });
      if (inFlight) {
        inFlight.abort(); // only the answer to the latest input counts
      }
      var controller = new AbortController();
      inFlight = controller;
      fetch(url.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      })
        .then(function (response) {
          return response.json().then(function (data) {
            return { ok: response.ok, data: data };
          });
        })
        .then(function (answer) {
          if (controller !== inFlight) {
            return;
          }
          inFlight = null;
          if (answer.ok) {
            show(summary, errorBox, answer.data);
          } else {
            showErrors(summary, errorBox, answer.data.errors);
          }
        })
        .catch(function () {
          // Offline or aborted: leave the page as it is; the button still works.
        });
    }

    function changed(event) {
      if (FIELDS.indexOf(event.target.name) === -1) {
        return;
      }
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    }

    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
  }

  function start() {
    document.querySelectorAll("form[data-quote-url]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
