// Injected into every JupyterLab page the browser suite opens (see harness.py).
// It records when the last input event happened and watches widgets frame by frame, so
// latency is measured inside the page: input event -> animation frame showing the new picture.
(() => {
  const cnn = (window.__cnn = { t0: 0, panel: null });
  for (const type of ["keydown", "pointerdown", "pointerup", "click", "change", "input"]) {
    window.addEventListener(type, () => { cnn.t0 = performance.now(); }, true);
  }
  const app = () => window.jupyterapp;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const frame = () => new Promise((r) => requestAnimationFrame(r));

  cnn.openPanel = (path) => {
    const a = app();
    if (!a || !a.shell) return false;
    for (const w of a.shell.widgets("main")) {
      if (w.context && w.context.path === path && w.sessionContext && w.content && w.content.model) {
        cnn.panel = w;
        return true;
      }
    }
    return false;
  };

  cnn.kernelReady = async () => {
    const sc = cnn.panel.sessionContext;
    await sc.ready;
    await cnn.panel.context.ready;
    while (!sc.session || !sc.session.kernel || sc.session.kernel.status !== "idle") await sleep(100);
  };

  const stripAnsi = (s) => s.replace(/\u001b\[[0-9;]*m/g, "");

  cnn.runAll = async (ms) => {
    app().shell.activateById(cnn.panel.id);
    const run = app().commands.execute("notebook:run-all-cells");
    const ok = await Promise.race([run, sleep(ms).then(() => "timeout")]);
    const errors = [];
    cnn.panel.content.widgets.forEach((cell, i) => {
      if (cell.model.type !== "code") return;
      const outputs = cell.model.outputs;
      for (let j = 0; j < outputs.length; j++) {
        const o = outputs.get(j).toJSON();
        if (o.output_type === "error") {
          errors.push({ cell: i, text: stripAnsi(`${o.ename}: ${o.evalue}\n${(o.traceback || []).join("\n")}`).slice(-3000) });
        }
      }
    });
    if (ok === "timeout") errors.unshift({ cell: "?", text: `Run All did not finish within ${ms / 1000} s` });
    return { ok: ok === true, errors };
  };

  const notebookText = () => cnn.panel.content.node.textContent;
  // What JupyterLab shows instead of a widget that cannot be displayed.
  const BROKEN = /(Error displaying widget|Click to show javascript error)[^\n]{0,120}/;

  cnn.widgetsSettled = async (ms, expected) => {
    const end = performance.now() + ms;
    let live = [];
    for (;;) {
      const text = notebookText();
      live = [...cnn.panel.content.node.querySelectorAll(".cnn-live")].map(
        (el) => [...el.classList].find((c) => c.startsWith("cnn-") && c !== "cnn-live")
      );
      const errors = [];
      const m = text.match(BROKEN);
      if (m) errors.push(`a widget failed to display: ${m[0]}`);
      const loading = text.includes("Loading widget");
      if (errors.length) return { errors, live };
      if (!loading && (expected || []).every((c) => live.includes(c))) return { errors, live };
      if (performance.now() > end) {
        const missing = (expected || []).filter((c) => !live.includes(c));
        return { errors: [loading ? "a widget is still 'Loading widget...'" : `widget(s) ${missing} never appeared`], live };
      }
      await sleep(200);
    }
  };

  cnn.kind = (el) => {
    const has = (sel) => el.matches(sel) || el.querySelector(sel);
    if (has(".noUi-target")) return "slider";
    if (has("select")) return "dropdown";
    if (el.matches(".widget-toggle-buttons, .jupyter-widget-toggle-buttons")) return "toggle";
    if (el.matches("button")) return "button";
    if (has("input[type=checkbox]")) return "checkbox";
    if (has("input, textarea")) return "text";
    if (has("button")) return "button";
    return "unknown";
  };

  // The readout shows the model's value (noUiSlider's aria-valuenow is rounded to 0.1).
  cnn.sliderValue = (el) => {
    const r = el.querySelector(".widget-readout, .jupyter-widget-readout");
    return r ? parseFloat(r.textContent) : NaN;
  };

  cnn.state = (root) => {
    const el = root.querySelector(".cnn-live-state");
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  };

  const images = (root) => [...root.querySelectorAll("img")];
  const canvasSig = (root) =>
    [...root.querySelectorAll("canvas")].map((c) => {
      try { return c.toDataURL().length + ":" + c.toDataURL().slice(-64); } catch (e) { return "x"; }
    }).join("|");
  const visibleText = (root) => root.innerText;

  cnn.snapshot = (root) => ({
    state: cnn.state(root),
    images: images(root).map((i) => i.src).join("|"),
    // Pictures and output areas only: a slider's own readout changes before the kernel answers.
    sig: images(root).map((i) => i.src).join("|") + "#" + canvasSig(root) + "#" +
      [...root.querySelectorAll(".widget-output, .jupyter-widget-output, .cnn-live-caption")].map((o) => o.innerText).join("|"),
  });

  const close = (a, b) => {
    if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => close(x, b[i]));
    return a === b;
  };
  // "weights-4" is item 4 of the list control "weights" (class cnn-ctl-weights-4).
  const lookup = (values, key) => {
    if (!values) return undefined;
    if (key in values) return values[key];
    const m = key.match(/^(.*)-(\d+)$/);
    return m && Array.isArray(values[m[1]]) ? values[m[1]][+m[2]] : undefined;
  };
  const subset = (expect, values) => Object.keys(expect).every((k) => close(expect[k], lookup(values, k)));
  const imagesReady = (root) => images(root).every((i) => i.complete && i.naturalWidth > 0);

  cnn.waitFor = async (root, args) => {
    const start = performance.now();
    const before = args.before;
    let lastSig = null, lastChange = null, firstChange = null, st = null;
    for (;;) {
      await frame();
      const now = performance.now();
      if (before.state) {
        st = cnn.state(root);
        if (st && st.frame > before.state.frame) {
          if (st.error) return { failure: `the widget shows an error: ${st.error}`, state: st };
          const text = visibleText(root);
          const ok = subset(args.expect, st.values) &&
            args.caption.every((c) => text.includes(c)) &&
            (!args.imageChanges || images(root).map((i) => i.src).join("|") !== before.images) &&
            imagesReady(root);
          if (ok) return { latency_ms: now - cnn.t0, frames: st.frame - before.state.frame, state: st };
        }
      } else {
        // A widget without the Live base: the picture counts once anything in it changed.
        const sig = cnn.snapshot(root).sig;
        if (sig !== before.sig && imagesReady(root)) {
          if (firstChange === null) firstChange = now;
          if (sig !== lastSig) { lastSig = sig; lastChange = now; }
          if (!args.settleMs || now - lastChange >= args.settleMs) {
            return { latency_ms: firstChange - cnn.t0, settle_ms: lastChange - cnn.t0, frames: null, state: null };
          }
        }
      }
      if (now - start > args.timeoutMs) {
        const text = visibleText(root).slice(0, 400);
        return {
          failure: `no frame showing ${JSON.stringify(args.expect)} ${JSON.stringify(args.caption)}` +
            ` within ${args.timeoutMs / 1000} s; last frame: ${JSON.stringify(st)}; text: ${text}`,
        };
      }
    }
  };

  cnn.renderReport = (root) => {
    const text = root.innerText;
    if (BROKEN.test(text)) return `the widget failed to display: ${text.slice(0, 300)}`;
    const err = root.querySelector(".cnn-live-error");
    if (err && err.offsetParent !== null && err.textContent.trim()) return `drawing error: ${err.textContent.trim()}`;
    const st = cnn.state(root);
    if (st && st.error) return `drawing error: ${st.error}`;
    const broken = images(root).filter((i) => !(i.complete && i.naturalWidth > 0));
    if (broken.length) return `${broken.length} picture(s) not shown`;
    if (!images(root).length && !root.querySelector("canvas") && !text.trim()) return "the widget is empty";
    return null;
  };

  cnn.canvasInk = (canvas) => {
    const { width: w, height: h } = canvas;
    const data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
    const ink = new Uint8Array(w * h);
    for (let i = 0; i < w * h; i++) ink[i] = data[4 * i];
    let bin = "";
    for (let i = 0; i < ink.length; i += 0x8000) bin += String.fromCharCode.apply(null, ink.subarray(i, i + 0x8000));
    return { w, h, b64: btoa(bin) };
  };

  cnn.execute = async (code) => {
    const kernel = cnn.panel.sessionContext.session.kernel;
    const future = kernel.requestExecute({ code, silent: false, store_history: false });
    let out = "", error = null;
    future.onIOPub = (msg) => {
      const t = msg.header.msg_type;
      if (t === "stream") out += msg.content.text;
      if (t === "error") error = stripAnsi(`${msg.content.ename}: ${msg.content.evalue}`);
    };
    await future.done;
    return { out, error };
  };

  cnn.shutdown = async () => {
    if (cnn.panel && cnn.panel.sessionContext.session) await cnn.panel.sessionContext.shutdown();
  };
})();
