// Safe-zone editor: a self-contained SVG sketch map (no tiles: the platform may run without internet).
// It shows the elder's home, the township point and recent positions on a metre grid, and writes what
// is clicked into the form's ordinary fields (the "latitude,longitude" textarea, the circle's centre),
// which remain the accessible way to enter a zone without this script. Coordinates are WGS-84.
(function () {
  "use strict";
  var box = document.getElementById("zone-map");
  var form = document.getElementById("zone-form");
  if (!box || !form) return;
  var SVG = "http://www.w3.org/2000/svg";
  var W = 640, H = 400;
  var points = form.querySelector("#id_points");
  var lat = form.querySelector("#id_center_lat");
  var lon = form.querySelector("#id_center_lon");
  var radius = form.querySelector("#id_radius_m");

  function pair(text) {
    var parts = (text || "").split(",");
    if (parts.length !== 2) return null;
    var a = parseFloat(parts[0]), b = parseFloat(parts[1]);
    return isFinite(a) && isFinite(b) ? [a, b] : null;
  }
  function pairs(text, sep) {
    return (text || "").split(sep).map(function (s) { return pair(s.trim()); }).filter(Boolean);
  }
  var home = pair(box.dataset.home);
  var township = pair(box.dataset.township);
  var recent = pairs(box.dataset.positions, ";");

  function shape() {
    var checked = form.querySelector("input[name=shape]:checked");
    return checked ? checked.value : "circle";
  }
  function vertices() { return pairs(points.value.replace(/，/g, ","), "\n"); }
  function centre() { return pair(lat.value + "," + lon.value); }

  // A local equirectangular projection around the origin, in metres: plenty at village scale.
  var origin = home || township || centre() || vertices()[0] || recent[0];
  if (!origin) return;
  var kx = 111320 * Math.cos(origin[0] * Math.PI / 180), ky = 110540;
  function toMetres(p) { return [(p[1] - origin[1]) * kx, (p[0] - origin[0]) * ky]; }
  function fromMetres(x, y) { return [origin[0] + y / ky, origin[1] + x / kx]; }

  // Fit everything known, at least 400 m across.
  var span = 400;
  [township, centre()].concat(vertices(), recent).forEach(function (p) {
    if (!p) return;
    var m = toMetres(p);
    span = Math.max(span, 2.4 * Math.abs(m[0]), 2.4 * Math.abs(m[1]) * W / H);
  });
  var r = parseFloat(radius.value);
  if (isFinite(r) && centre()) span = Math.max(span, 2.6 * (r + Math.hypot.apply(null, toMetres(centre()))));
  var scale = W / span; // pixels per metre

  function px(p) { var m = toMetres(p); return [W / 2 + m[0] * scale, H / 2 - m[1] * scale]; }
  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (parent || svg).appendChild(node);
    return node;
  }
  function fmt(n) { return n.toFixed(6); }

  var svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("class", "guardian-map-svg");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", box.dataset.labelMap);
  box.appendChild(svg);

  function niceStep(metres) {
    var steps = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
    for (var i = 0; i < steps.length; i++) if (steps[i] >= metres) return steps[i];
    return 50000;
  }

  function draw() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    el("rect", { x: 0, y: 0, width: W, height: H, fill: "#f7f7f2" });
    var step = niceStep(80 / scale);
    var half = span / 2 + step;
    for (var g = -Math.ceil(half / step) * step; g <= half; g += step) {
      el("line", { x1: W / 2 + g * scale, y1: 0, x2: W / 2 + g * scale, y2: H, stroke: "#dcdcd2", "stroke-width": 1 });
      el("line", { x1: 0, y1: H / 2 - g * scale, x2: W, y2: H / 2 - g * scale, stroke: "#dcdcd2", "stroke-width": 1 });
    }
    el("line", { x1: 12, y1: H - 14, x2: 12 + step * scale, y2: H - 14, stroke: "#333", "stroke-width": 3 });
    el("text", { x: 12, y: H - 20, "font-size": 12, fill: "#333" }).textContent = step >= 1000 ? step / 1000 + " km" : step + " m";
    el("text", { x: W - 20, y: 24, "font-size": 14, fill: "#333", "text-anchor": "middle" }).textContent = "N";

    if (shape() === "circle") {
      var c = centre(), rad = parseFloat(radius.value);
      if (c) {
        var pc = px(c);
        if (isFinite(rad) && rad > 0) {
          el("circle", { cx: pc[0], cy: pc[1], r: rad * scale, fill: "rgba(0,110,60,0.15)", stroke: "#006e3c", "stroke-width": 2 });
        }
        el("circle", { cx: pc[0], cy: pc[1], r: 4, fill: "#006e3c" });
      }
    } else {
      var v = vertices();
      if (v.length) {
        var path = v.map(function (p) { return px(p).join(","); }).join(" ");
        el(v.length >= 3 ? "polygon" : "polyline", {
          points: path, fill: v.length >= 3 ? "rgba(0,110,60,0.15)" : "none", stroke: "#006e3c", "stroke-width": 2
        });
        v.forEach(function (p, i) {
          var q = px(p);
          el("circle", { cx: q[0], cy: q[1], r: 5, fill: "#006e3c" });
          el("text", { x: q[0] + 7, y: q[1] - 7, "font-size": 12, fill: "#004d2a" }).textContent = String(i + 1);
        });
      }
    }
    recent.forEach(function (p) {
      var q = px(p);
      el("circle", { cx: q[0], cy: q[1], r: 3, fill: "#1f5fbf", "fill-opacity": 0.7 });
    });
    if (township) {
      var t = px(township);
      el("rect", { x: t[0] - 6, y: t[1] - 6, width: 12, height: 12, fill: "#7a4b00" });
      el("text", { x: t[0] + 9, y: t[1] + 4, "font-size": 13, fill: "#7a4b00" }).textContent = box.dataset.labelTownship;
    }
    if (home) {
      var h = px(home);
      el("polygon", { points: [h[0], h[1] - 10, h[0] + 9, h[1] + 7, h[0] - 9, h[1] + 7].join(","), fill: "#b00020" });
      el("text", { x: h[0] + 11, y: h[1] + 4, "font-size": 13, fill: "#b00020" }).textContent = box.dataset.labelHome;
    }
  }

  svg.addEventListener("click", function (event) {
    var rect = svg.getBoundingClientRect();
    var x = (event.clientX - rect.left) * W / rect.width, y = (event.clientY - rect.top) * H / rect.height;
    var p = fromMetres((x - W / 2) / scale, (H / 2 - y) / scale);
    if (shape() === "circle") {
      lat.value = fmt(p[0]);
      lon.value = fmt(p[1]);
    } else {
      var text = points.value.replace(/\s+$/, "");
      points.value = (text ? text + "\n" : "") + fmt(p[0]) + "," + fmt(p[1]);
    }
    draw();
  });

  function button(label, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onClick);
    tools.appendChild(b);
    return b;
  }
  var tools = document.createElement("div");
  tools.className = "guardian-map-tools";
  box.appendChild(tools);
  button(box.dataset.labelZoomIn, function () { scale *= 1.5; span /= 1.5; draw(); });
  button(box.dataset.labelZoomOut, function () { scale /= 1.5; span *= 1.5; draw(); });
  var undo = button(box.dataset.labelUndo, function () {
    var lines = points.value.split("\n").filter(function (s) { return s.trim(); });
    lines.pop();
    points.value = lines.join("\n");
    draw();
  });
  var clear = button(box.dataset.labelClear, function () { points.value = ""; draw(); });

  function showShape() {
    var circle = shape() === "circle";
    document.getElementById("circle-fields").hidden = !circle;
    document.getElementById("polygon-fields").hidden = circle;
    undo.hidden = clear.hidden = circle;
    draw();
  }
  form.addEventListener("input", draw);
  form.querySelectorAll("input[name=shape]").forEach(function (input) { input.addEventListener("change", showShape); });
  box.hidden = false;
  showShape();
})();
