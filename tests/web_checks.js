// Accessibility checks run in the page by tests/test_web_page.py: the rules axe-core
// calls html-has-lang, landmark-one-main, region, label, button-name, link-name, tabindex
// and color-contrast (4.5:1 for text), written out so nothing is vendored into the page.
const problems = [];
const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
if (!document.documentElement.lang) problems.push('html has no lang');
if (document.querySelectorAll('main').length !== 1) problems.push('not exactly one main');
if (!document.querySelector('header')) problems.push('no banner');
const name = (e) => {
  const ids = (e.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean);
  const byIds = ids.map((i) => (document.getElementById(i) || {}).textContent || '').join(' ');
  const label = e.id ? document.querySelector('label[for="' + e.id + '"]') : null;
  return (e.getAttribute('aria-label') || byIds || (label && label.textContent) ||
          (e.closest('label') && e.closest('label').textContent) || '').trim();
};
for (const e of document.querySelectorAll('input, textarea, select')) {
  if (e.type !== 'hidden' && !name(e)) problems.push('unlabelled ' + (e.id || e.tagName));
}
for (const e of document.querySelectorAll('button, a[href]')) {
  if (visible(e) && !(e.getAttribute('aria-label') || e.textContent).trim()) {
    problems.push('nameless ' + e.outerHTML.slice(0, 60));
  }
}
for (const e of document.querySelectorAll('[tabindex]')) {
  if (Number(e.getAttribute('tabindex')) > 0) problems.push('positive tabindex');
}
// Everything visible sits in a landmark (axe 'region'); the skip link is exempt.
const landmarks = 'header, main, footer, nav, aside, dialog, section[aria-labelledby], .skip';
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const parse = (c) => {
  const m = c.match(/rgba?\(([^)]+)\)/);
  if (!m) return [0, 0, 0, 0];
  const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const lum = (c) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
};
const over = (top, bottom) => {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
};
const background = (e) => {
  const layers = [];
  for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] === 1) break;
  }
  let bg = [255, 255, 255, 1];
  for (const c of layers.reverse()) bg = over(c, bg);
  return bg;
};
let checked = 0;
for (let t = walker.nextNode(); t; t = walker.nextNode()) {
  const e = t.parentElement;
  if (!t.textContent.trim() || !visible(e) || e.closest('[hidden]')) continue;
  const what = t.textContent.trim().slice(0, 40);
  if (!e.closest(landmarks)) problems.push('outside landmarks: ' + what);
  const fg = over(parse(getComputedStyle(e).color), background(e));
  const [l1, l2] = [lum(fg), lum(background(e))].sort((a, b) => b - a);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  checked += 1;
  if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ': ' + what);
}
return {problems, checked};
