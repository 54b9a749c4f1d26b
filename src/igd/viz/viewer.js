// The igd grasp viewer: draws the page's inline data (the JSON block #data, written by igd.viz.html)
// with three.js (the inline bundle, global IGD3: see vendor/README.md). Workspace frame, metres, z up.
//
// After each frame it writes, on <html>: data-webgl (1 or 2), data-frames, data-calls and
// data-triangles (three.js's counts of the last frame), data-layers (the layers shown) and, after the
// first, data-pixels (canvas pixels that differ from the background). The browser test reads them.
(function () {
  'use strict';
  var T = window.IGD3;
  var D = JSON.parse(document.getElementById('data').textContent);
  var root = document.documentElement;
  var BACKGROUND = 0xf6f7f9;
  var EXECUTED = '#ff1ad9';  // magenta: in neither the grasp-score (viridis) nor the heat (inferno) map
  var SURFACE = '#a9b5cc';
  var S = D.workspace.size;
  var BESIDE = S + 0.05;  // how far the true objects move along +x when shown beside the reconstruction
  var VIEWS = { home: { yaw: -Math.PI / 2 + 0.35, pitch: 0.55, dist: 0.88 }, top: { yaw: -Math.PI / 2, pitch: 1.5, dist: 0.7 },
                front: { yaw: -Math.PI / 2, pitch: 0.05, dist: 0.7 }, side: { yaw: 0, pitch: 0.05, dist: 0.7 } };

  // ---------------------------------------------------------------- renderer, camera, lights
  var host = document.getElementById('view');
  var renderer;
  try {
    renderer = new T.WebGLRenderer({ antialias: true });
  } catch (e) {
    host.textContent = 'This page needs WebGL, which this browser does not offer: ' + e.message;
    throw e;
  }
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  renderer.setClearColor(BACKGROUND, 1);
  host.appendChild(renderer.domElement);
  var gl = renderer.getContext();
  root.setAttribute('data-webgl', typeof WebGL2RenderingContext !== 'undefined' && gl instanceof WebGL2RenderingContext ? '2' : '1');

  var scene = new T.Scene();
  var camera = new T.PerspectiveCamera(38, 1, 0.005, 20);
  camera.up.set(0, 0, 1);
  scene.add(new T.AmbientLight(0xffffff, 1.1));
  var sun = new T.DirectionalLight(0xffffff, 2.2);  // follows the camera: up and to the left of the eye
  scene.add(sun);
  scene.add(sun.target);

  var controls = new T.OrbitControls(camera, renderer.domElement);  // mouse, touch and pointer events
  controls.screenSpacePanning = true;
  controls.minDistance = 0.05;
  controls.maxDistance = 4;
  controls.listenToKeyEvents(window);  // arrow keys pan

  var beside = false;
  function place(view) {  // around the workspace's centre, or the middle of both boxes when beside
    var cp = Math.cos(view.pitch), t = [0.5 * S + (beside ? 0.5 * BESIDE : 0), 0.5 * S, 0.12];
    var dist = view.dist * (beside ? 1.6 : 1);
    camera.position.set(t[0] + dist * cp * Math.cos(view.yaw), t[1] + dist * cp * Math.sin(view.yaw),
      t[2] + dist * Math.sin(view.pitch));
    controls.target.set(t[0], t[1], t[2]);
    controls.update();
  }

  // ---------------------------------------------------------------- helpers
  var colour = new T.Color();
  function linear(rgb255, i) {  // sRGB bytes -> three's linear working colour space
    return colour.setRGB(rgb255[i] / 255, rgb255[i + 1] / 255, rgb255[i + 2] / 255, T.SRGBColorSpace);
  }
  function geometry(v, f) {
    var g = new T.BufferGeometry();
    g.setAttribute('position', new T.Float32BufferAttribute(v, 3));
    g.setIndex(f);
    g.computeVertexNormals();
    return g;
  }
  function lines(points, rgb255, fixed) {  // flat xyz pairs -> LineSegments (per-vertex or one colour)
    var g = new T.BufferGeometry();
    g.setAttribute('position', new T.Float32BufferAttribute(points, 3));
    if (!fixed) {
      var c = new Float32Array(points.length);
      for (var i = 0; i < points.length / 6; i++) {
        linear(rgb255, 3 * i);
        for (var k = 0; k < 2; k++) { c[6 * i + 3 * k] = colour.r; c[6 * i + 3 * k + 1] = colour.g; c[6 * i + 3 * k + 2] = colour.b; }
      }
      g.setAttribute('color', new T.Float32BufferAttribute(c, 3));
    }
    return new T.LineSegments(g, new T.LineBasicMaterial(fixed ? { color: fixed } : { vertexColors: true }));
  }
  function onTop(object) {  // drawn over everything (the scale must stay readable under the table top)
    object.material.depthTest = false;
    object.renderOrder = 5;
    return object;
  }
  var ROD = new T.CylinderGeometry(1, 1, 1, 14);
  var JOINT = new T.SphereGeometry(1, 14, 10);
  var UP = new T.Vector3(0, 1, 0);
  function rods(segments, hex, radius, emissive) {  // flat segments -> lit cylinders with round joints
    var group = new T.Group();
    var material = new T.MeshLambertMaterial({ color: hex, emissive: emissive || 0x000000 });
    var a = new T.Vector3(), b = new T.Vector3(), d = new T.Vector3();
    for (var s = 0; s < segments.length; s += 6) {
      a.fromArray(segments, s); b.fromArray(segments, s + 3); d.subVectors(b, a);
      var rod = new T.Mesh(ROD, material);
      rod.scale.set(radius, d.length(), radius);
      rod.quaternion.setFromUnitVectors(UP, d.clone().normalize());
      rod.position.addVectors(a, b).multiplyScalar(0.5);
      group.add(rod);
      [a, b].forEach(function (p) {
        var joint = new T.Mesh(JOINT, material);
        joint.scale.setScalar(radius * 1.15);
        joint.position.copy(p);
        group.add(joint);
      });
    }
    return group;
  }
  function label(text, css, height, opts) {  // a text sprite `height` metres tall; opts.onTop: never hidden
    opts = opts || {};
    var px = 64, pad = opts.box ? 14 : 4, c = document.createElement('canvas'), ctx = c.getContext('2d');
    var font = (opts.bold ? '700 ' : '500 ') + px + 'px system-ui, -apple-system, "Segoe UI", sans-serif';
    ctx.font = font;
    c.width = Math.ceil(ctx.measureText(text).width) + 2 * pad;
    c.height = px + 2 * pad;
    ctx.font = font;
    if (opts.box) {
      ctx.fillStyle = 'rgba(255,255,255,0.92)'; ctx.strokeStyle = css; ctx.lineWidth = 6;
      ctx.fillRect(3, 3, c.width - 6, c.height - 6); ctx.strokeRect(3, 3, c.width - 6, c.height - 6);
    }
    ctx.fillStyle = css; ctx.textBaseline = 'middle'; ctx.textAlign = 'center';
    ctx.fillText(text, c.width / 2, c.height / 2 + 2);
    var texture = new T.CanvasTexture(c);
    texture.colorSpace = T.SRGBColorSpace;
    var sprite = new T.Sprite(new T.SpriteMaterial({ map: texture, transparent: true, depthTest: !opts.onTop }));
    sprite.scale.set(height * c.width / c.height, height, 1);
    if (opts.anchor) sprite.center.set(opts.anchor[0], opts.anchor[1]);
    if (opts.onTop) sprite.renderOrder = 10;
    return sprite;
  }
  function frame(box, table) {  // the workspace's edges and the table top, a grid of ticks
    var e = [], k, t, n = Math.round(S / D.workspace.tick), z = D.workspace.table, group = new T.Group();
    [[0, 0, 0, S, 0, 0], [0, S, 0, S, S, 0], [0, 0, S, S, 0, S], [0, S, S, S, S, S],
     [0, 0, 0, 0, S, 0], [S, 0, 0, S, S, 0], [0, 0, S, 0, S, S], [S, 0, S, S, S, S],
     [0, 0, 0, 0, 0, S], [S, 0, 0, S, 0, S], [0, S, 0, 0, S, S], [S, S, 0, S, S, S]].forEach(function (s) { e.push.apply(e, s); });
    group.add(lines(e, null, box));
    var grid = [];
    for (k = 0; k <= n; k++) { t = k * D.workspace.tick; grid.push(t, 0, z, t, S, z, 0, t, z, S, t, z); }
    group.add(lines(grid, null, table));
    return group;
  }
  function plural(n, one, many) { return n.toLocaleString('en-US') + ' ' + (n === 1 ? one : many); }

  // ---------------------------------------------------------------- layers
  var layers = [];
  function layer(key, name, count, build, on) {  // count: what the panel says, '' for an empty layer
    var group = new T.Group();
    if (count) build(group);
    group.visible = on !== false && !!count;
    scene.add(group);
    layers.push({ key: key, name: name, count: count, group: group });
    return group;
  }

  layer('surface', 'TSDF surface', D.mesh.f.length ? plural(D.mesh.f.length / 3, 'triangle', 'triangles') : '', function (g) {
    g.add(new T.Mesh(geometry(D.mesh.v, D.mesh.f), new T.MeshLambertMaterial({ color: SURFACE, side: T.DoubleSide })));
  });

  var cloudCount = D.cloud.p.length / 3;
  layer('cloud', 'observed cloud', cloudCount ? plural(cloudCount, 'point', 'points') +
      (D.cloud.total > cloudCount ? ' of ' + D.cloud.total.toLocaleString('en-US') : '') : '', function (g) {
    var geo = new T.BufferGeometry();
    geo.setAttribute('position', new T.Float32BufferAttribute(D.cloud.p, 3));
    g.add(new T.Points(geo, new T.PointsMaterial({ color: 0x2f3a4a, size: 2.5, sizeAttenuation: false })));
  }, false);

  var heatCount = D.heat.p.length / 3;
  layer('heat', heatCount ? D.heat.label : 'heat', heatCount ? plural(heatCount, 'voxel', 'voxels') : '', function (g) {
    var side = 0.7 * D.workspace.voxel;
    var cubes = new T.InstancedMesh(new T.BoxGeometry(side, side, side), new T.MeshLambertMaterial({ color: 0xffffff }), heatCount);
    var m = new T.Matrix4();
    for (var i = 0; i < heatCount; i++) {
      cubes.setMatrixAt(i, m.makeTranslation(D.heat.p[3 * i], D.heat.p[3 * i + 1], D.heat.p[3 * i + 2]));
      cubes.setColorAt(i, linear(D.heat.c, 3 * i));
    }
    cubes.computeBoundingSphere();
    g.add(cubes);
  });

  var G = D.grasps.list, ex = D.grasps.executed;
  layer('executed', 'executed grasp', ex === null ? '' : '#' + (ex + 1) + ', score ' + G[ex].score.toFixed(3), function (g) {
    var s = G[ex].s;
    g.add(rods(s, EXECUTED, 0.0028, 0x3a0030));
    var tail = new T.Vector3().fromArray(s, 18);  // the stem's end, behind the palm
    var tag = new T.Vector3(tail.x, tail.y, Math.max(tail.z, G[ex].position[2]) + 0.045);
    g.add(lines([tail.x, tail.y, tail.z, tag.x, tag.y, tag.z], null, EXECUTED));
    var text = 'executed grasp \u00b7 ' + G[ex].score.toFixed(2) + ' \u00b7 ' + (100 * G[ex].width).toFixed(1) + ' cm';
    var tagSprite = label(text, EXECUTED, 0.014, { box: true, bold: true, onTop: true, anchor: [0.5, 0] });
    tagSprite.position.copy(tag);
    g.add(tagSprite);
  });

  var others = G.length - (ex === null ? 0 : 1);
  layer('grasps', 'other top grasps', others ? plural(others, 'grasp', 'grasps') : '', function (g) {
    G.forEach(function (grasp, i) { if (i !== ex) g.add(rods(grasp.s, grasp.colour, 0.0011)); });
  });

  var P = D.paths;
  layer('paths', 'denoising paths', P.point ? plural(P.samples.length, 'sample', 'samples') + ' \u00d7 ' + P.steps + ' steps' : '', function (g) {
    g.add(lines(P.s, P.c));
  });

  var PP = D.posepaths;
  layer('posepaths', 'pose paths', PP.samples.length ? plural(PP.samples.length, 'sample', 'samples') + ' \u00d7 ' + PP.steps + ' steps' : '', function (g) {
    g.add(lines(PP.s, PP.c));
  });

  var O = D.objects;
  var besideFrame = frame(0xc9b79c, 0xe6ddd0);
  var truth = layer('objects', 'true objects', O.length ? plural(O.length, 'mesh', 'meshes') : '', function (g) {
    var tag = label('true objects (simulator)', '#8a6d45', 0.012, { anchor: [0.5, 0] });
    tag.position.set(0.5 * S, S, S + 0.01);
    besideFrame.add(tag);
    g.add(besideFrame);
    O.forEach(function (o) {
      var material = new T.MeshLambertMaterial({ color: o.colour, side: T.DoubleSide, transparent: true,
        opacity: 0.55, depthWrite: false });
      g.add(new T.Mesh(T.toCreasedNormals(geometry(o.v, o.f), Math.PI / 4), material));  // sharp edges stay sharp
    });
  });

  layer('axes', 'axes', (100 * S).toFixed(0) + ' cm box, ' + (100 * D.workspace.tick).toFixed(0) + ' cm ticks', function (g) {
    var k, t, tick = D.workspace.tick, n = Math.round(S / tick), len = 0.006, z = D.workspace.table;
    g.add(frame(0xb4bac4, 0xd3d7de));
    var tableTag = label('table, z = ' + (100 * z).toFixed(0) + ' cm', '#8a919c', 0.008, { anchor: [0, 0.5] });
    tableTag.position.set(S + 0.008, S, z);
    g.add(tableTag);
    // x, y, z along three edges from the origin, ticks and labels in cm, drawn on top: the table's
    // surface (z = 5 cm) would hide the axes at z = 0
    var axes = [{ dir: [1, 0, 0], out: [0, -1, 0], css: '#d62728', name: 'x' },
                { dir: [0, 1, 0], out: [-1, 0, 0], css: '#2ca02c', name: 'y' },
                { dir: [0, 0, 1], out: [-0.7071, -0.7071, 0], css: '#1f77b4', name: 'z' }];
    axes.forEach(function (a) {
      var tk = [];
      for (k = 0; k <= n; k++) {
        t = k * tick;
        var p = [a.dir[0] * t, a.dir[1] * t, a.dir[2] * t];
        tk.push(p[0], p[1], p[2], p[0] + len * a.out[0], p[1] + len * a.out[1], p[2] + len * a.out[2]);
        if (k === 0 && a.name !== 'x') continue;  // one 0 at the origin
        var num = label(k === n ? (100 * t).toFixed(0) + ' cm' : (100 * t).toFixed(0), '#4a505a', 0.0085, { onTop: true });
        num.position.set(p[0] + 2.6 * len * a.out[0], p[1] + 2.6 * len * a.out[1], p[2] + 2.6 * len * a.out[2]);
        if (k === n) num.center.set(a.name === 'z' ? 0.5 : 0.2, a.name === 'z' ? 0.1 : 0.5);
        g.add(num);
      }
      tk.push(0, 0, 0, a.dir[0] * S, a.dir[1] * S, a.dir[2] * S);
      g.add(onTop(lines(tk, null, a.css)));
      var name = label(a.name, a.css, 0.014, { bold: true, onTop: true });
      var at = S + 0.022;
      name.position.set(a.dir[0] * at + 2 * len * a.out[0], a.dir[1] * at + 2 * len * a.out[1], a.dir[2] * at + 2 * len * a.out[2]);
      g.add(name);
    });
  });

  // ---------------------------------------------------------------- the panel
  document.getElementById('title').textContent = D.title;
  document.getElementById('meta').textContent = Object.keys(D.meta).map(function (k) { return k + ': ' + D.meta[k]; }).join('  \u00b7  ');
  var box = document.getElementById('layers');
  layers.forEach(function (L) {
    var row = document.createElement('label');
    row.className = 'layer';
    var input = document.createElement('input');
    input.type = 'checkbox'; input.id = 'layer-' + L.key; input.checked = L.group.visible; input.disabled = !L.count;
    input.addEventListener('change', function () { L.group.visible = input.checked; requestRender(); });
    var name = document.createElement('span');
    name.textContent = L.name;
    if (L.key === 'executed') name.style.color = EXECUTED;
    var count = document.createElement('span');
    count.className = 'count';
    count.textContent = L.count || 'none';
    row.appendChild(input); row.appendChild(name); row.appendChild(count);
    box.appendChild(row);
  });
  function gradient(colours) { return 'linear-gradient(to right, ' + colours.join(', ') + ')'; }
  document.getElementById('score-bar').style.background = gradient(D.cmaps.viridis);
  document.getElementById('heat-bar').style.background = gradient(D.cmaps.inferno);
  document.getElementById('heat-title').textContent = 'Heat: ' + D.heat.label;
  document.getElementById('heat-lo').textContent = D.heat.threshold;
  var table = document.getElementById('grasp-table');
  G.forEach(function (g, i) {
    var row = table.insertRow(), cells = [i + 1, g.score.toFixed(3), (100 * g.width).toFixed(1), i === ex ? 'executed' : ''];
    var sw = row.insertCell(), span = document.createElement('span');
    span.className = 'swatch'; span.style.background = i === ex ? EXECUTED : g.colour;
    sw.appendChild(span);
    cells.forEach(function (v) { row.insertCell().textContent = v; });
    if (i === ex) row.className = 'executed';
  });
  if (!G.length) document.getElementById('grasp-box').style.display = 'none';
  if (!heatCount) document.getElementById('heat-box').style.display = 'none';
  var pl = document.getElementById('paths-legend');
  if (P.point) {
    pl.textContent = 'at (' + P.point.map(function (v) { return v.toFixed(3); }).join(', ') + ') m, ' + P.steps + ' steps: ';
    P.samples.forEach(function (c, i) {
      var span = document.createElement('span');
      span.className = 'swatch'; span.style.background = c;
      pl.appendChild(span); pl.appendChild(document.createTextNode(String(i + 1) + ' '));
    });
  } else { document.getElementById('paths-box').style.display = 'none'; }
  var ppl = document.getElementById('posepaths-legend');
  if (PP.samples.length) {
    ppl.textContent = PP.steps + ' steps: ';
    PP.samples.forEach(function (c, i) {
      var span = document.createElement('span');
      span.className = 'swatch'; span.style.background = c;
      ppl.appendChild(span); ppl.appendChild(document.createTextNode(String(i + 1) + ' '));
    });
  } else { document.getElementById('posepaths-box').style.display = 'none'; }
  var ol = document.getElementById('objects-list');
  if (O.length) {
    O.forEach(function (o) {
      var li = document.createElement('li'), span = document.createElement('span');
      span.className = 'swatch'; span.style.background = o.colour;
      li.appendChild(span); li.appendChild(document.createTextNode(o.name + ' (' + plural(o.f.length / 3, 'triangle', 'triangles') + ')'));
      ol.appendChild(li);
    });
    var mode = document.getElementById('objects-mode');
    var arrange = function () {  // overlaid: see-through on the surface; beside: opaque, moved along +x
      beside = mode.value === 'beside';
      truth.position.x = beside ? BESIDE : 0;
      besideFrame.visible = beside;
      truth.children.forEach(function (m) {
        if (!m.isMesh) return;
        m.material.opacity = beside ? 1 : 0.55; m.material.transparent = !beside; m.material.depthWrite = beside;
        m.material.needsUpdate = true;
      });
    };
    mode.addEventListener('change', function () { arrange(); place(VIEWS.home); requestRender(); });
    arrange();  // a reloaded page keeps the choice
  } else { document.getElementById('objects-box').style.display = 'none'; }
  var notes = document.getElementById('notes');
  D.notes.forEach(function (n) { var li = document.createElement('li'); li.textContent = n; notes.appendChild(li); });
  Object.keys(VIEWS).forEach(function (k) {
    document.getElementById('view-' + k).addEventListener('click', function () { place(VIEWS[k]); requestRender(); });
  });
  renderer.domElement.addEventListener('dblclick', function () { place(VIEWS.home); requestRender(); });

  // ---------------------------------------------------------------- drawing
  var frames = 0, pending = false, eye = new T.Vector3(), right = new T.Vector3();
  function paintedPixels() {
    var w = gl.drawingBufferWidth, h = gl.drawingBufferHeight, px = new Uint8Array(4 * w * h), count = 0;
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    var bg = [(BACKGROUND >> 16) & 255, (BACKGROUND >> 8) & 255, BACKGROUND & 255];
    for (var i = 0; i < px.length; i += 4) {
      if (Math.abs(px[i] - bg[0]) > 8 || Math.abs(px[i + 1] - bg[1]) > 8 || Math.abs(px[i + 2] - bg[2]) > 8) count++;
    }
    return count;
  }
  function render() {
    eye.subVectors(camera.position, controls.target);
    right.crossVectors(eye, camera.up).normalize();
    sun.position.copy(camera.position).addScaledVector(camera.up, 0.4 * eye.length()).addScaledVector(right, 0.3 * eye.length());
    sun.target.position.copy(controls.target);
    renderer.render(scene, camera);
    frames++;
    root.setAttribute('data-frames', String(frames));
    root.setAttribute('data-calls', String(renderer.info.render.calls));
    root.setAttribute('data-triangles', String(renderer.info.render.triangles));
    root.setAttribute('data-layers', layers.filter(function (L) { return L.group.visible; }).map(function (L) { return L.key; }).join(' '));
    if (frames === 1) root.setAttribute('data-pixels', String(paintedPixels()));  // before the frame is shown
  }
  function requestRender() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; render(); });
  }
  function resize() {
    var w = Math.max(host.clientWidth, 320), h = Math.max(host.clientHeight, 240);
    renderer.setSize(w, h);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
  }
  controls.addEventListener('change', requestRender);
  window.addEventListener('resize', function () { resize(); requestRender(); });
  resize();
  place(VIEWS.home);
  render();  // the first frame at once, so a headless load sees it
})();
