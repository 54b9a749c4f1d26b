"""The viewer page template: HTML, CSS and our canvas-2D renderer (no third-party code, no network).

``__TITLE__`` and ``__DATA__`` are replaced by :func:`igd.viz.html.render_html`. The renderer projects
with a perspective orbit camera and paints every primitive (mesh triangles, heat squares, line
segments) back to front (painter's algorithm). Mouse: drag to orbit, shift-drag to pan, wheel to
zoom, double-click to reset.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<script>
// record every script error into the DOM (read by the browser test and shown on the page)
(function () {
  var errors = [];
  function record(msg) {
    errors.push(String(msg));
    document.documentElement.setAttribute('data-errors', String(errors.length));
    var el = document.getElementById('errors');
    if (el) { el.textContent = errors.join('\n'); el.style.display = 'block'; }
  }
  window.__igdErrors = errors;
  window.onerror = function (msg, src, line) { record(msg + ' (line ' + line + ')'); };
  window.addEventListener('unhandledrejection', function (e) { record('unhandled rejection: ' + e.reason); });
  var original = console.error;
  console.error = function () { record(Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
})();
</script>
<style>
  body { margin: 0; font: 13px/1.4 system-ui, sans-serif; background: #f4f4f2; color: #222; }
  header { padding: 8px 14px; background: #20242b; color: #eee; }
  header h1 { margin: 0; font-size: 17px; font-weight: 600; }
  header .meta { color: #aab; font-size: 12px; }
  main { display: flex; gap: 12px; padding: 10px; align-items: flex-start; }
  canvas { background: #ffffff; border: 1px solid #ccc; cursor: grab; max-width: 100%; }
  aside { min-width: 250px; max-width: 320px; }
  fieldset { border: 1px solid #ccc; margin: 0 0 10px 0; padding: 6px 10px; background: #fff; }
  legend { font-weight: 600; }
  .bar { height: 12px; border: 1px solid #999; margin: 4px 0 0 0; }
  .ticks { display: flex; justify-content: space-between; font-size: 11px; color: #555; }
  .swatch { display: inline-block; width: 11px; height: 11px; border: 1px solid #777; vertical-align: middle; margin-right: 3px; }
  table { border-collapse: collapse; font-size: 12px; }
  td, th { padding: 1px 6px; text-align: right; }
  #errors { display: none; color: #b00; white-space: pre-wrap; background: #fee; padding: 6px; }
  .hint, .note { color: #666; font-size: 11px; }
</style>
</head>
<body>
<header><h1 id="title"></h1><div class="meta" id="meta"></div></header>
<pre id="errors"></pre>
<main>
  <canvas id="view" width="900" height="640"></canvas>
  <aside>
    <fieldset id="layers"><legend>Layers</legend></fieldset>
    <fieldset><legend>Grasp score</legend>
      <div class="bar" id="score-bar"></div><div class="ticks"><span>0</span><span>0.5</span><span>1</span></div>
      <table id="grasp-table"><tr><th></th><th>#</th><th>score</th><th>width (cm)</th></tr></table>
    </fieldset>
    <fieldset><legend id="heat-title">Heat</legend>
      <div class="bar" id="heat-bar"></div><div class="ticks"><span id="heat-lo"></span><span>1</span></div>
    </fieldset>
    <fieldset id="paths-box"><legend>Denoising paths</legend><div id="paths-legend"></div>
      <div class="hint">Each path: where the hand comes from (a point 6 cm back along the approach axis) at
      every reverse step, grey at the noise x<sub>T</sub> to the sample's colour at x<sub>0</sub>; the small
      gripper is the final orientation.</div>
    </fieldset>
    <div class="hint">Drag: orbit &middot; shift-drag: pan &middot; wheel: zoom &middot; double-click: reset</div>
    <ul class="note" id="notes"></ul>
  </aside>
</main>
<script type="application/json" id="data">__DATA__</script>
<script>
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var canvas = document.getElementById('view');
  var ctx = canvas.getContext('2d');
  var BG = [255, 255, 255];
  var HOME = { yaw: -Math.PI / 2 + 0.35, pitch: 0.55, dist: 0.6, target: [0.15, 0.15, 0.09] };
  var cam = JSON.parse(JSON.stringify(HOME));
  var show = { mesh: true, heat: true, grasps: true, paths: true };
  var frames = 0;

  // ---- page furniture ----
  document.getElementById('title').textContent = D.title;
  document.getElementById('meta').textContent = Object.keys(D.meta).map(function (k) { return k + ': ' + D.meta[k]; }).join('  \u00b7  ');
  function gradient(colours) { return 'linear-gradient(to right, ' + colours.join(', ') + ')'; }
  document.getElementById('score-bar').style.background = gradient(D.cmaps.viridis);
  document.getElementById('heat-bar').style.background = gradient(D.cmaps.inferno);
  document.getElementById('heat-title').textContent = 'Heat: ' + D.heat.label + ' (' + D.heat.count + ' voxels)';
  document.getElementById('heat-lo').textContent = D.meta['heat threshold'] || '';
  var table = document.getElementById('grasp-table');
  D.grasps.list.forEach(function (g, i) {
    var row = table.insertRow();
    row.innerHTML = '<td><span class="swatch" style="background:' + g.colour + '"></span></td><td>' + (i + 1) +
      '</td><td>' + g.score.toFixed(3) + '</td><td>' + (100 * g.width).toFixed(1) + '</td>';
  });
  var pl = document.getElementById('paths-legend');
  if (D.paths.point) {
    pl.innerHTML = 'at (' + D.paths.point.map(function (v) { return v.toFixed(3); }).join(', ') + ') m, ' +
      D.paths.steps + ' steps<br>' + D.paths.samples.map(function (c, i) {
        return '<span class="swatch" style="background:' + c + '"></span>' + (i + 1); }).join(' ');
  } else { document.getElementById('paths-box').style.display = 'none'; }
  var notes = document.getElementById('notes');
  D.notes.forEach(function (n) { var li = document.createElement('li'); li.textContent = n; notes.appendChild(li); });
  var counts = { mesh: D.mesh.f.length / 3, heat: D.heat.p.length / 3, grasps: D.grasps.s.length / 6, paths: D.paths.s.length / 6 };
  var names = { mesh: 'surface (TSDF)', heat: D.heat.label, grasps: 'top grasps', paths: 'denoising paths' };
  var box = document.getElementById('layers');
  Object.keys(show).forEach(function (k) {
    var label = document.createElement('label');
    var input = document.createElement('input');
    input.type = 'checkbox'; input.checked = true; input.id = 'layer-' + k; input.disabled = counts[k] === 0;
    input.addEventListener('change', function () { show[k] = input.checked; redraw(); });
    label.appendChild(input);
    label.appendChild(document.createTextNode(' ' + names[k] + ' (' + counts[k] + ')'));
    box.appendChild(label); box.appendChild(document.createElement('br'));
  });

  // ---- geometry prepared once: triangle normals ----
  var V = D.mesh.v, F = D.mesh.f, nTri = F.length / 3;
  var normals = new Float32Array(F.length);
  for (var t = 0; t < nTri; t++) {
    var a = 3 * F[3 * t], b = 3 * F[3 * t + 1], c = 3 * F[3 * t + 2];
    var ux = V[b] - V[a], uy = V[b + 1] - V[a + 1], uz = V[b + 2] - V[a + 2];
    var vx = V[c] - V[a], vy = V[c + 1] - V[a + 1], vz = V[c + 2] - V[a + 2];
    var nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    var len = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
    normals[3 * t] = nx / len; normals[3 * t + 1] = ny / len; normals[3 * t + 2] = nz / len;
  }

  // ---- camera ----
  function basis() {
    var cp = Math.cos(cam.pitch), e = [cam.target[0] + cam.dist * cp * Math.cos(cam.yaw),
      cam.target[1] + cam.dist * cp * Math.sin(cam.yaw), cam.target[2] + cam.dist * Math.sin(cam.pitch)];
    var f = [cam.target[0] - e[0], cam.target[1] - e[1], cam.target[2] - e[2]];
    var fl = Math.hypot(f[0], f[1], f[2]); f = [f[0] / fl, f[1] / fl, f[2] / fl];
    var r = [f[1], -f[0], 0]; var rl = Math.hypot(r[0], r[1]) || 1; r = [r[0] / rl, r[1] / rl, 0];
    var u = [r[1] * f[2] - r[2] * f[1], r[2] * f[0] - r[0] * f[2], r[0] * f[1] - r[1] * f[0]];
    return { e: e, f: f, r: r, u: u, focal: 0.5 * canvas.height / Math.tan(0.5 * 0.7) };
  }
  function projectAll(P, B) {  // flat xyz -> flat (sx, sy, depth)
    var out = new Float32Array(P.length), cx = canvas.width / 2, cy = canvas.height / 2;
    for (var i = 0; i < P.length; i += 3) {
      var dx = P[i] - B.e[0], dy = P[i + 1] - B.e[1], dz = P[i + 2] - B.e[2];
      var z = dx * B.f[0] + dy * B.f[1] + dz * B.f[2];
      var x = dx * B.r[0] + dy * B.r[1] + dz * B.r[2], y = dx * B.u[0] + dy * B.u[1] + dz * B.u[2];
      var s = z > 1e-3 ? B.focal / z : 0;
      out[i] = cx + x * s; out[i + 1] = cy - y * s; out[i + 2] = z;
    }
    return out;
  }
  function rgb(c, i, k) { return 'rgb(' + Math.round(c[i] * k) + ',' + Math.round(c[i + 1] * k) + ',' + Math.round(c[i + 2] * k) + ')'; }

  // ---- one frame: collect primitives, sort back to front, paint ----
  function draw() {
    var B = basis(), kinds = [], refs = [], depths = [];
    ctx.fillStyle = 'rgb(' + BG.join(',') + ')';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    var pv = show.mesh ? projectAll(V, B) : null;
    if (pv) for (var t = 0; t < nTri; t++) {
      var a = 3 * F[3 * t], b = 3 * F[3 * t + 1], c = 3 * F[3 * t + 2];
      if (pv[a + 2] <= 1e-3 || pv[b + 2] <= 1e-3 || pv[c + 2] <= 1e-3) continue;
      kinds.push(0); refs.push(t); depths.push(pv[a + 2] + pv[b + 2] + pv[c + 2]);
    }
    var ph = show.heat ? projectAll(D.heat.p, B) : null;
    if (ph) for (var i = 0; i < ph.length; i += 3) if (ph[i + 2] > 1e-3) { kinds.push(1); refs.push(i); depths.push(3 * ph[i + 2] - 0.01); }
    var lines = [];
    if (show.grasps) lines.push([projectAll(D.grasps.s, B), D.grasps.c, 3]);
    if (show.paths) lines.push([projectAll(D.paths.s, B), D.paths.c, 2]);
    lines.forEach(function (L, li) {
      var p = L[0];
      for (var s = 0; s < p.length; s += 6) if (p[s + 2] > 1e-3 && p[s + 5] > 1e-3) {
        kinds.push(2 + li); refs.push(s); depths.push(1.5 * (p[s + 2] + p[s + 5]) - 0.02);
      }
    });
    var order = new Uint32Array(kinds.length);
    for (var o = 0; o < order.length; o++) order[o] = o;
    order.sort(function (x, y) { return depths[y] - depths[x]; });
    var heatSize = B.focal * 0.0075 * 0.8, drawn = 0;
    ctx.lineCap = 'round';
    for (var n = 0; n < order.length; n++) {
      var q = order[n], kind = kinds[q], r = refs[q];
      if (kind === 0) {
        var a2 = 3 * F[3 * r], b2 = 3 * F[3 * r + 1], c2 = 3 * F[3 * r + 2];
        var lit = Math.abs(normals[3 * r] * B.f[0] + normals[3 * r + 1] * B.f[1] + normals[3 * r + 2] * B.f[2]);
        var k = 0.35 + 0.65 * lit, col = 'rgb(' + Math.round(170 * k) + ',' + Math.round(180 * k) + ',' + Math.round(200 * k) + ')';
        ctx.fillStyle = col; ctx.strokeStyle = col; ctx.lineWidth = 0.6;
        ctx.beginPath(); ctx.moveTo(pv[a2], pv[a2 + 1]); ctx.lineTo(pv[b2], pv[b2 + 1]); ctx.lineTo(pv[c2], pv[c2 + 1]);
        ctx.closePath(); ctx.fill(); ctx.stroke();
      } else if (kind === 1) {
        var size = Math.max(2, heatSize / ph[r + 2]);
        ctx.fillStyle = rgb(D.heat.c, r, 1); ctx.globalAlpha = 0.85;
        ctx.fillRect(ph[r] - size / 2, ph[r + 1] - size / 2, size, size); ctx.globalAlpha = 1;
      } else {
        var L = lines[kind - 2], p = L[0];
        ctx.strokeStyle = rgb(L[1], r / 2, 1); ctx.lineWidth = L[2];
        ctx.beginPath(); ctx.moveTo(p[r], p[r + 1]); ctx.lineTo(p[r + 3], p[r + 4]); ctx.stroke();
      }
      drawn++;
    }
    frames++;
    var root = document.documentElement;
    root.setAttribute('data-frames', String(frames));
    root.setAttribute('data-primitives', String(drawn));
    if (frames === 1) root.setAttribute('data-pixels', String(paintedPixels()));
  }
  function paintedPixels() {
    var px = ctx.getImageData(0, 0, canvas.width, canvas.height).data, count = 0;
    for (var i = 0; i < px.length; i += 4) if (px[i] !== BG[0] || px[i + 1] !== BG[1] || px[i + 2] !== BG[2]) count++;
    return count;
  }
  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; draw(); });
  }

  // ---- mouse ----
  var drag = null;
  canvas.addEventListener('mousedown', function (e) { drag = { x: e.clientX, y: e.clientY, pan: e.shiftKey }; canvas.style.cursor = 'grabbing'; });
  window.addEventListener('mouseup', function () { drag = null; canvas.style.cursor = 'grab'; });
  window.addEventListener('mousemove', function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag.x = e.clientX; drag.y = e.clientY;
    if (drag.pan) {
      var B = basis(), s = cam.dist / B.focal;
      for (var i = 0; i < 3; i++) cam.target[i] += s * (-dx * B.r[i] + dy * B.u[i]);
    } else {
      cam.yaw -= 0.01 * dx;
      cam.pitch = Math.max(-1.5, Math.min(1.5, cam.pitch + 0.01 * dy));
    }
    redraw();
  });
  canvas.addEventListener('wheel', function (e) {
    e.preventDefault();
    cam.dist = Math.max(0.1, Math.min(3, cam.dist * Math.exp(0.001 * e.deltaY)));
    redraw();
  }, { passive: false });
  canvas.addEventListener('dblclick', function () { cam = JSON.parse(JSON.stringify(HOME)); redraw(); });

  draw();  // the first frame at once, so a headless load sees it
})();
</script>
</body>
</html>
"""
