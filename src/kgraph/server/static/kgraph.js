// Completion for entity and concept fields: names from the graph's labels, as you type.
// Values are set with textContent / .value only, never as HTML.
(function () {
  "use strict";
  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var last = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = input.value.trim();
        if (text.length < 2 || text === last || text.indexOf(":") > 0) return;
        last = text;
        fetch("/api/complete?q=" + encodeURIComponent(text))
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            while (list.firstChild) list.removeChild(list.firstChild);
            items.forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.curie;
              option.label = item.label;
              option.textContent = item.label;
              list.appendChild(option);
            });
            input.dataset.completed = String(items.length);
          })
          .catch(function () {});
      }, 150);
    });
  }
  document.querySelectorAll("input[data-complete]").forEach(attach);
})();
