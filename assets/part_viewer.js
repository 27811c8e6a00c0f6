// The interactive 3D view of a part on the quote page (templates/quotes/_part_viewer.html).
//
// Each figure[data-part-viewer] holds the part's preview PNG. When the browser has WebGL 2 and
// the part's mesh loads, a canvas takes the image's place: drag to rotate, wheel or pinch to
// zoom, "Reset view" for the first view (the preview's), and the part's X, Y and Z lengths on
// its bounding box. Without JavaScript or WebGL, or when anything fails, the image stays.
// Bundled with three.js by esbuild into xometry_site/static/build/part_viewer.js (`make run`).

import {
  AmbientLight,
  BoxGeometry,
  BufferAttribute,
  BufferGeometry,
  Color,
  DirectionalLight,
  DoubleSide,
  EdgesGeometry,
  Group,
  LineBasicMaterial,
  LineSegments,
  Mesh,
  MeshLambertMaterial,
  PerspectiveCamera,
  Scene,
  Vector3,
  WebGLRenderer,
} from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { parseMesh } from "./mesh_format.js";

const BACKGROUND = 0xf6f7f9; // the preview image's (services/quotes/preview.py)
const PART_COLOUR = 0x6c98ca; // steel blue, as in the preview
const BOX_COLOUR = 0x667085;
const [AMBIENT, KEY, FILL] = [0.45, 2.2, 0.9]; // light shares: steep faces darken, none goes black
const AXES = [
  { name: "x", colour: 0xd92d20 },
  { name: "y", colour: 0x079455 },
  { name: "z", colour: 0x1570ef },
];
const VIEW_DIRECTION = new Vector3(1, -1.2, 0.9).normalize(); // the preview's eye: z is up
const ASPECT = 4 / 3; // the preview's 480 × 360
const FIELD_OF_VIEW = 35;
const LABEL_OFFSET = 14; // px between a length's label and its edge
const MAX_LIVE = 4; // WebGL contexts kept at once: a phone allows few, a quote may have 20 parts

const live = []; // viewers showing a canvas, the oldest first

class PartViewer {
  constructor(figure) {
    this.figure = figure;
    this.image = figure.querySelector("img");
    this.reset = figure.querySelector(".part-viewer-reset");
    this.hint = figure.querySelector(".part-viewer-hint");
    this.visible = false;
    this.data = null; // the parsed mesh, kept when the canvas is released for another part
    this.loading = false;
    this.view = null;
    this.setState("idle");
    this.reset?.addEventListener("click", () => this.view?.controls.reset());
  }

  setState(state) {
    this.figure.dataset.viewerState = state;
  }

  async start() {
    if (this.view || this.loading || this.figure.dataset.viewerState === "failed") return;
    this.loading = true;
    this.setState("loading");
    try {
      this.data ??= await this.load();
      makeRoomFor(this);
      this.build();
      live.push(this);
      this.setState("ready");
    } catch (error) {
      this.release(error?.name === "NoWebGL" ? "no-webgl" : "failed");
      console.warn("part viewer:", error);
    } finally {
      this.loading = false;
    }
  }

  async load() {
    const response = await fetch(this.figure.dataset.meshUrl, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`mesh answered ${response.status}`);
    return parseMesh(await response.arrayBuffer());
  }

  build() {
    let renderer;
    try {
      renderer = new WebGLRenderer({ antialias: true });
    } catch (error) {
      const noWebGL = new Error(`no WebGL 2: ${error.message}`);
      noWebGL.name = "NoWebGL";
      throw noWebGL;
    }
    renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    renderer.setClearColor(new Color(BACKGROUND), 1);
    const canvas = renderer.domElement;
    canvas.className = "part-viewer-canvas";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", this.figure.dataset.label || "");
    canvas.addEventListener("webglcontextlost", (event) => {
      event.preventDefault();
      if (this.view) this.view.lost = true;
      this.release("idle"); // the image again; drawn anew when the part is next scrolled to
    });

    const geometry = new BufferGeometry();
    geometry.setAttribute("position", new BufferAttribute(this.data.positions, 3));
    geometry.setIndex(new BufferAttribute(this.data.indices, 1));
    geometry.computeBoundingBox();
    const box = geometry.boundingBox;
    const centre = box.getCenter(new Vector3());
    const size = box.getSize(new Vector3());
    const material = new MeshLambertMaterial({
      color: PART_COLOUR,
      flatShading: true, // facet normals from screen derivatives: no normals to send or compute
      side: DoubleSide, // STL windings are often inconsistent
      polygonOffset: true, // the box's edges win where they lie on the part's faces
      polygonOffsetFactor: 1,
      polygonOffsetUnits: 1,
    });
    const part = new Group();
    part.add(new Mesh(geometry, material));
    part.position.copy(centre).negate(); // the part's middle at the origin, where the camera looks
    const lines = boundingBoxLines(box);
    part.add(...lines);

    const scene = new Scene();
    scene.add(part);
    scene.add(new AmbientLight(0xffffff, AMBIENT));
    const camera = new PerspectiveCamera(FIELD_OF_VIEW, ASPECT);
    camera.up.set(0, 0, 1);
    const radius = Math.max(size.length() / 2, 1e-3);
    const distance = (radius / Math.sin((FIELD_OF_VIEW * Math.PI) / 360)) * 1.02;
    camera.near = radius / 100;
    camera.far = distance * 20;
    camera.position.copy(VIEW_DIRECTION).multiplyScalar(distance);
    camera.updateProjectionMatrix();
    // The preview's lights, in the camera's space (x right, y up, z towards the viewer), so
    // they turn with the view and every side reads as it comes round.
    const key = new DirectionalLight(0xffffff, KEY);
    key.position.set(-0.35, 0.55, 0.76); // above left, behind the viewer
    const fill = new DirectionalLight(0xffffff, FILL);
    fill.position.set(0.8, -0.1, 0.6); // from the right
    camera.add(key, key.target, fill, fill.target); // targets at the camera: pure directions
    scene.add(camera);

    const controls = new OrbitControls(camera, canvas);
    controls.enablePan = false; // the part stays in the middle; rotate and zoom are enough
    controls.minDistance = radius * 1.2; // never inside the part
    controls.maxDistance = distance * 5;
    controls.target.set(0, 0, 0);
    controls.update();
    controls.saveState(); // what Reset view returns to
    controls.addEventListener("change", () => this.draw());

    const overlay = document.createElement("div");
    overlay.className = "part-viewer-dims";
    overlay.setAttribute("aria-hidden", "true"); // the caption says the same in words
    const labels = AXES.map(({ name }, axis) => {
      const label = document.createElement("span");
      label.className = `part-viewer-dim part-viewer-dim-${name}`;
      label.textContent = `${name.toUpperCase()} ${this.figure.dataset[`length${"XYZ"[axis]}`] || ""}`;
      overlay.append(label);
      return { label, at: edgeMiddle(box, axis).sub(centre) };
    });

    const stage = document.createElement("div");
    stage.className = "part-viewer-stage";
    stage.append(canvas, overlay);
    this.figure.insertBefore(stage, this.image || this.figure.firstChild);
    if (this.image) this.image.hidden = true;
    if (this.reset) this.reset.hidden = false;
    if (this.hint) this.hint.hidden = false;

    const view = { renderer, scene, camera, controls, geometry, material, lines, labels, stage };
    const fit = () => {
      const width = Math.max(stage.clientWidth, 1); // inside the stage's border
      renderer.setSize(width, Math.round(width / ASPECT));
      this.draw();
    };
    view.fit = fit;
    if ("ResizeObserver" in window) {
      view.resize = new ResizeObserver(fit);
      view.resize.observe(this.figure);
    } else {
      window.addEventListener("resize", fit);
      view.unlisten = () => window.removeEventListener("resize", fit);
    }
    this.view = view;
    fit(); // sizes the canvas and draws the first picture
  }

  draw() {
    const view = this.view;
    if (!view) return;
    view.renderer.render(view.scene, view.camera);
    const width = view.renderer.domElement.clientWidth;
    const height = view.renderer.domElement.clientHeight;
    const middle = new Vector3(0, 0, 0).project(view.camera);
    const point = new Vector3();
    for (const { label, at } of view.labels) {
      point.copy(at).project(view.camera);
      const onScreen = point.z < 1 && Math.abs(point.x) <= 1 && Math.abs(point.y) <= 1;
      label.hidden = !onScreen;
      // beside its edge, away from the part's middle, rather than on the part
      const x = ((point.x + 1) / 2) * width;
      const y = ((1 - point.y) / 2) * height;
      const dx = x - ((middle.x + 1) / 2) * width;
      const dy = y - ((1 - middle.y) / 2) * height;
      const away = LABEL_OFFSET / Math.max(Math.hypot(dx, dy), 1);
      label.style.left = `${Math.min(Math.max(x + dx * away, 0), width)}px`;
      label.style.top = `${Math.min(Math.max(y + dy * away, 0), height)}px`;
    }
  }

  release(state) {
    const view = this.view;
    this.view = null;
    const index = live.indexOf(this);
    if (index >= 0) live.splice(index, 1);
    if (view) {
      view.resize?.disconnect();
      view.unlisten?.();
      view.controls.dispose();
      view.geometry.dispose();
      view.material.dispose();
      for (const line of view.lines) {
        line.geometry.dispose();
        line.material.dispose();
      }
      view.renderer.dispose();
      if (!view.lost) view.renderer.forceContextLoss(); // give the context back now, not at GC
      view.stage.remove();
    }
    if (this.image) this.image.hidden = false;
    if (this.reset) this.reset.hidden = true;
    if (this.hint) this.hint.hidden = true;
    this.setState(state);
  }
}

/** The box's twelve edges in grey, and one edge along each axis in that axis's colour. */
function boundingBoxLines(box) {
  const size = box.getSize(new Vector3());
  const centre = box.getCenter(new Vector3());
  const outline = new LineSegments(
    new EdgesGeometry(new BoxGeometry(size.x, size.y, size.z)),
    new LineBasicMaterial({ color: BOX_COLOUR, transparent: true, opacity: 0.7 }),
  );
  outline.position.copy(centre);
  const axes = AXES.map(({ colour }, axis) => {
    const [from, to] = axisEdge(box, axis);
    const geometry = new BufferGeometry().setFromPoints([from, to]);
    return new LineSegments(geometry, new LineBasicMaterial({ color: colour }));
  });
  return [outline, ...axes];
}

/** The edges that outline the part as first seen: front bottom (x), right bottom (y), left (z). */
function axisEdge(box, axis) {
  const { min, max } = box;
  if (axis === 0) return [new Vector3(min.x, min.y, min.z), new Vector3(max.x, min.y, min.z)];
  if (axis === 1) return [new Vector3(max.x, min.y, min.z), new Vector3(max.x, max.y, min.z)];
  return [new Vector3(min.x, min.y, min.z), new Vector3(min.x, min.y, max.z)];
}

function edgeMiddle(box, axis) {
  const [from, to] = axisEdge(box, axis);
  return from.add(to).multiplyScalar(0.5);
}

/** Free a canvas for a new viewer: the oldest one scrolled out of sight, else the oldest. */
function makeRoomFor(viewer) {
  while (live.length >= MAX_LIVE) {
    const victim = live.find((other) => !other.visible && other !== viewer) || live[0];
    victim.release("idle");
  }
}

function main() {
  const figures = document.querySelectorAll("figure[data-part-viewer]:not([data-viewer-state])");
  if (!figures.length) return;
  if (!("WebGL2RenderingContext" in window)) {
    for (const figure of figures) figure.dataset.viewerState = "no-webgl";
    return;
  }
  const viewers = new Map([...figures].map((figure) => [figure, new PartViewer(figure)]));
  if (!("IntersectionObserver" in window)) {
    for (const viewer of viewers.values()) {
      viewer.visible = true;
      viewer.start();
    }
    return;
  }
  // Drawn when scrolled near: a quote of twenty parts does not start twenty WebGL contexts.
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const viewer = viewers.get(entry.target);
        viewer.visible = entry.isIntersecting;
        if (viewer.visible) viewer.start();
      }
    },
    { rootMargin: "200px 0px" },
  );
  for (const figure of viewers.keys()) observer.observe(figure);
}

main();
