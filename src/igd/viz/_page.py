"""The viewer page template: HTML and CSS; the drawing is three.js (inline) driven by ``viewer.js``.

:func:`igd.viz.html.render_html` fills ``__TITLE__``, ``__THREE__`` (the vendored three.js bundle,
``vendor/``), ``__DATA__`` (the layers as JSON) and ``__VIEWER__`` (``viewer.js``). The first script
records every script error and ``console.error`` into the DOM (``#errors`` and ``html[data-errors]``),
for the reader and for the browser test.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
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
  html, body { height: 100%; }
  body { margin: 0; font: 13px/1.4 system-ui, sans-serif; background: #eceef1; color: #222;
         display: flex; flex-direction: column; }
  header { padding: 7px 14px; background: #20242b; color: #eee; }
  header h1 { margin: 0; font-size: 16px; font-weight: 600; }
  header .meta { color: #aab; font-size: 12px; }
  main { flex: 1; display: flex; min-height: 0; }
  #view { flex: 1; position: relative; min-width: 320px; min-height: 360px; overflow: hidden; }
  #view canvas { display: block; touch-action: none; cursor: grab; }
  #view canvas:active { cursor: grabbing; }
  aside { width: 300px; overflow-y: auto; padding: 8px 10px; border-left: 1px solid #ccd; background: #f7f8fa; }
  fieldset { border: 1px solid #ccd; margin: 0 0 8px 0; padding: 5px 9px; background: #fff; }
  legend { font-weight: 600; }
  label.layer { display: flex; gap: 6px; align-items: baseline; padding: 1px 0; }
  label.layer .count { margin-left: auto; color: #667; font-size: 11px; text-align: right; }
  .bar { height: 11px; border: 1px solid #999; margin: 4px 0 0 0; }
  .ticks { display: flex; justify-content: space-between; font-size: 11px; color: #555; }
  .swatch { display: inline-block; width: 11px; height: 11px; border: 1px solid #777; vertical-align: middle; margin-right: 3px; }
  table { border-collapse: collapse; font-size: 12px; margin-top: 4px; }
  td, th { padding: 1px 5px; text-align: right; }
  tr.executed td { color: #c0009f; font-weight: 600; }
  ul { margin: 2px 0; padding-left: 16px; }
  #objects-list { list-style: none; padding: 0; font-size: 12px; }
  button { font: inherit; font-size: 12px; padding: 1px 7px; }
  #errors { display: none; margin: 0; color: #b00; white-space: pre-wrap; background: #fee; padding: 6px; }
  .hint, .note { color: #666; font-size: 11px; }
</style>
</head>
<body>
<header><h1 id="title"></h1><div class="meta" id="meta"></div></header>
<pre id="errors"></pre>
<main>
  <div id="view"></div>
  <aside>
    <fieldset id="layers"><legend>Layers</legend></fieldset>
    <fieldset><legend>View</legend>
      <button id="view-home" type="button">reset</button> <button id="view-top" type="button">top</button>
      <button id="view-front" type="button">front</button> <button id="view-side" type="button">side</button>
      <div class="hint">Drag or one finger: orbit &middot; right-drag, shift-drag or two fingers: pan &middot;
      wheel or pinch: zoom &middot; arrow keys: pan &middot; double-click: reset</div>
    </fieldset>
    <fieldset id="grasp-box"><legend>Grasps</legend>
      <div class="hint">The executed grasp is the best one (what the benchmark executes), drawn thick in
      magenta; the others are coloured by score:</div>
      <div class="bar" id="score-bar"></div><div class="ticks"><span>0</span><span>0.5</span><span>1</span></div>
      <table id="grasp-table"><tr><th></th><th>#</th><th>score</th><th>width (cm)</th><th></th></tr></table>
    </fieldset>
    <fieldset id="heat-box"><legend id="heat-title">Heat</legend>
      <div class="bar" id="heat-bar"></div><div class="ticks"><span id="heat-lo"></span><span>1</span></div>
    </fieldset>
    <fieldset id="paths-box"><legend>Denoising paths</legend><div id="paths-legend"></div>
      <div class="hint">Each path: where the hand comes from (a point 6 cm back along the approach axis) at
      every reverse step, grey at the noise x<sub>T</sub> to the sample's colour at x<sub>0</sub>; the small
      gripper is the final orientation.</div>
    </fieldset>
    <fieldset id="posepaths-box"><legend>Pose paths</legend><div id="posepaths-legend"></div>
      <div class="hint">Each path: the TCP's track over the sampler's steps (a pose-space planner's chains,
      e.g. SE(3)-DiF's Langevin dynamics), grey at the start (with its approach stem) to the sample's
      colour at the end; the small gripper is the final pose.</div>
    </fieldset>
    <fieldset id="objects-box"><legend>True objects</legend>
      <div class="hint">The simulator's meshes at their poses: what was there, against the TSDF surface the
      planner saw.</div>
      <select id="objects-mode"><option value="overlaid">overlaid</option>
        <option value="beside">beside (moved +35 cm in x)</option></select>
      <ul id="objects-list"></ul>
    </fieldset>
    <ul class="note" id="notes"></ul>
  </aside>
</main>
<script>
__THREE__
</script>
<script type="application/json" id="data">__DATA__</script>
<script>
__VIEWER__
</script>
</body>
</html>
"""
