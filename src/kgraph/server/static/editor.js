// YASGUI on this server's endpoint. Nothing is fetched from elsewhere: the endpoint
// catalogue and the autocompleters that call outside services are switched off.
(function () {
  "use strict";
  var el = document.getElementById("yasgui");
  if (!el || typeof Yasgui === "undefined") return;
  // The result table's filter box. DataTables (inside YASR) indexes each cell by its
  // "filter" rendering, and decodes any that holds "&" through innerHTML of a <div> of
  // this document; YASR's rendering is the value passed through DOMPurify, which keeps
  // markup such as <img src="x">, so a literal holding it would load that image (a
  // console error under our Content-Security-Policy). The cell is indexed by its value
  // HTML-escaped instead: the <div> then decodes it back to the exact text and creates
  // no element.
  var table = Yasgui.Yasr && Yasgui.Yasr.plugins && Yasgui.Yasr.plugins.table;
  if (table && table.prototype && table.prototype.getColumns) {
    var columns = table.prototype.getColumns;
    var escape = function (text) {
      return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    };
    table.prototype.getColumns = function () {
      return columns.call(this).map(function (column) {
        var render = column.render;
        if (typeof render !== "function") return column;
        return Object.assign({}, column, {
          render: function (data, type, row, meta) {
            if (type === "filter" && data && typeof data === "object" && "value" in data) {
              return escape(data.value);
            }
            return render(data, type, row, meta);
          },
        });
      });
    };
  } else if (table) {
    // Not the YASR this was written against: without the escaping, no search at all.
    table.defaults.tableConfig.searching = false;
  }
  var endpoint = new URL(el.dataset.endpoint, window.location.href).href;
  var yasgui = new Yasgui(el, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: null,
    populateFromUrl: false,
    yasqe: { value: el.dataset.query, autocompleters: [] },
  });
  window.kgraphYasgui = yasgui;
})();
