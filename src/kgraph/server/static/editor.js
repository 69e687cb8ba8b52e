// YASGUI on this server's endpoint. Nothing is fetched from elsewhere: the endpoint
// catalogue and the autocompleters that call outside services are switched off.
(function () {
  "use strict";
  var el = document.getElementById("yasgui");
  if (!el || typeof Yasgui === "undefined") return;
  // DataTables (inside YASR) builds its search index by putting each cell's HTML into a
  // <div> of this document, where a literal such as <img onerror=...> would run (our
  // Content-Security-Policy blocks it, but as a console error). The table still shows
  // every value escaped; only its search box goes.
  if (Yasgui.Yasr && Yasgui.Yasr.plugins && Yasgui.Yasr.plugins.table) {
    Yasgui.Yasr.plugins.table.defaults.tableConfig.searching = false;
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
