// WCAG 2 contrast of every visible text on the page, run in the browser by
// the web app's tests (gateway/tests/web_app.rs). For each element with
// text of its own it takes the computed text colour and the background
// actually behind it (the element's and its ancestors' background colours,
// composited with their opacity over the white canvas), and reports each
// text below AA: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold).
// Answers {checked, failures: [{text, element, ratio, required, fg, bg}]}.

const parse = (css) => {
  const m = /rgba?\(([^)]+)\)/.exec(css || "");
  if (!m) return null;
  const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
};

// `top` painted over the opaque `bottom`.
const over = (top, bottom) => ({
  r: top.r * top.a + bottom.r * (1 - top.a),
  g: top.g * top.a + bottom.g * (1 - top.a),
  b: top.b * top.a + bottom.b * (1 - top.a),
  a: 1,
});

const luminance = ({ r, g, b }) => {
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
};

const ratio = (x, y) => {
  const [hi, lo] = [luminance(x), luminance(y)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
};

const hex = ({ r, g, b }) =>
  "#" + [r, g, b].map((c) => Math.round(c).toString(16).padStart(2, "0")).join("");

// The element and its ancestors, outermost first.
const chain = (element) => {
  const all = [];
  for (let e = element; e; e = e.parentElement) all.unshift(e);
  return all;
};

// What is painted behind `element`'s text, and the opacity its text gets;
// null when an image or gradient is behind it (nothing to compute).
const backdrop = (element) => {
  let bg = { r: 255, g: 255, b: 255, a: 1 };
  let opacity = 1;
  for (const e of chain(element)) {
    const style = getComputedStyle(e);
    if (style.backgroundImage !== "none") return null;
    opacity *= Number(style.opacity);
    const layer = parse(style.backgroundColor);
    if (layer && layer.a > 0) bg = over({ ...layer, a: layer.a * opacity }, bg);
  }
  return { bg, opacity };
};

const owners = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (node.textContent.trim()) owners.add(node.parentElement);
}

const failures = [];
let checked = 0;
for (const element of owners) {
  if (!element || ["OPTION", "SCRIPT", "STYLE", "NOSCRIPT", "TITLE"].includes(element.tagName)) continue;
  if (!element.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
  if (element.getClientRects().length === 0) continue;
  // Inactive controls are exempt (WCAG 1.4.3).
  if (element.closest(":disabled")) continue;
  const behind = backdrop(element);
  if (!behind) continue;
  const style = getComputedStyle(element);
  const fg = parse(style.color);
  if (!fg) continue;
  const shown = over({ ...fg, a: fg.a * behind.opacity }, behind.bg);
  const size = parseFloat(style.fontSize);
  const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
  const required = large ? 3 : 4.5;
  const got = ratio(shown, behind.bg);
  checked += 1;
  if (got < required) {
    failures.push({
      text: element.textContent.trim().slice(0, 40),
      element: `${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""}${element.classList.length ? "." + [...element.classList].join(".") : ""}`,
      ratio: Math.round(got * 100) / 100,
      required,
      fg: hex(shown),
      bg: hex(behind.bg),
    });
  }
}
return { checked, failures };
