// YASGUI on this server's endpoint. Nothing is fetched from elsewhere: the endpoint
// catalogue and the autocompleters that call outside services are switched off.
(function () {
  "use strict";
  var el = document.getElementById("yasgui");
  if (!el || typeof Yasgui === "undefined") return;
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
