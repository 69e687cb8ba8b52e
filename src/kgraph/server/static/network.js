// The neighbourhood of an entity with Cytoscape: click a node to expand it; export as SVG.
(function () {
  "use strict";
  var box = document.getElementById("network");
  if (!box || typeof cytoscape === "undefined") return;
  var panel = document.getElementById("selected");
  var cy = cytoscape({
    container: box,
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 10, "background-color": "#1f5fa8",
        width: 18, height: 18, "text-valign": "bottom", "text-margin-y": 3, "text-wrap": "ellipsis", "text-max-width": 140 } },
      { selector: "node.center", style: { "background-color": "#b05a00", width: 26, height: 26 } },
      { selector: "node.expanded", style: { "border-width": 2, "border-color": "#16324f" } },
      { selector: "edge", style: { width: 1.2, "line-color": "#9aa6b6", "target-arrow-color": "#9aa6b6",
        "target-arrow-shape": "triangle", "curve-style": "bezier", label: "data(label)", "font-size": 8,
        "text-rotation": "autorotate", color: "#5b6676" } },
      { selector: "edge.said", style: { "line-color": "#c0392b", "target-arrow-color": "#c0392b", "line-style": "dashed" } },
    ],
  });
  window.kgraphNetwork = cy;
  var expanded = {};

  function expand(iri, isCenter) {
    if (expanded[iri]) return Promise.resolve();
    expanded[iri] = true;
    return fetch("/api/neighbourhood?entity=" + encodeURIComponent(iri))
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        var added = [];
        data.nodes.forEach(function (n) {
          if (cy.getElementById(n.id).empty()) added.push({ group: "nodes", data: n });
        });
        data.edges.forEach(function (e) {
          if (cy.getElementById(e.id).empty()) added.push({ group: "edges", data: e, classes: e.kind });
        });
        cy.add(added);
        var node = cy.getElementById(iri);
        node.addClass("expanded");
        if (isCenter) node.addClass("center");
        // A star reads best as rings around the centre; once expanded, a force layout.
        var layout = isCenter
          ? { name: "concentric", concentric: function (n) { return n.hasClass("center") ? 2 : 1; },
              levelWidth: function () { return 1; }, minNodeSpacing: 60, padding: 30, animate: false }
          : { name: "cose", animate: false, nodeRepulsion: 40000, idealEdgeLength: 110, nodeOverlap: 20, padding: 20 };
        cy.layout(layout).run();
        box.dataset.nodes = String(cy.nodes().length);
        box.dataset.edges = String(cy.edges().length);
      });
  }

  function show(node) {
    while (panel.firstChild) panel.removeChild(panel.firstChild);
    var link = document.createElement("a");
    link.href = "/entity?iri=" + encodeURIComponent(node.id());
    link.textContent = node.data("label");
    panel.appendChild(document.createTextNode("Selected: "));
    panel.appendChild(link);
  }

  cy.on("tap", "node", function (evt) {
    show(evt.target);
    expand(evt.target.id(), false);
  });

  function xml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  // Cytoscape draws on a canvas; the SVG is rebuilt from the positions it computed.
  function toSvg() {
    var bb = cy.elements().boundingBox();
    var pad = 40;
    var parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="' + (bb.x1 - pad) + " " + (bb.y1 - pad) + " " +
      (bb.w + 2 * pad) + " " + (bb.h + 2 * pad) + '" font-family="sans-serif">'];
    cy.edges().forEach(function (e) {
      var s = e.source().position(), t = e.target().position();
      var colour = e.hasClass("said") ? "#c0392b" : "#9aa6b6";
      parts.push('<line x1="' + s.x + '" y1="' + s.y + '" x2="' + t.x + '" y2="' + t.y + '" stroke="' + colour + '"' +
        (e.hasClass("said") ? ' stroke-dasharray="4 3"' : "") + "/>");
      parts.push('<text x="' + (s.x + t.x) / 2 + '" y="' + (s.y + t.y) / 2 + '" font-size="7" fill="#5b6676">' + xml(e.data("label")) + "</text>");
    });
    cy.nodes().forEach(function (n) {
      var p = n.position();
      parts.push('<circle cx="' + p.x + '" cy="' + p.y + '" r="9" fill="' + (n.hasClass("center") ? "#b05a00" : "#1f5fa8") + '"/>');
      parts.push('<text x="' + p.x + '" y="' + (p.y + 20) + '" font-size="9" text-anchor="middle">' + xml(n.data("label")) + "</text>");
    });
    parts.push("</svg>");
    return parts.join("\n");
  }
  window.kgraphNetworkSvg = toSvg;

  document.getElementById("export-svg").addEventListener("click", function () {
    var blob = new Blob([toSvg()], { type: "image/svg+xml" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "kgraph-network.svg";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  });

  var start = box.dataset.entity;
  if (start) expand(start, true).catch(function (err) { panel.textContent = "Could not load: " + err.message; });
  else panel.textContent = "Name an entity above to draw its neighbourhood.";
})();
