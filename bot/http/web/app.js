// newsbot web chat: plain JS, no build step, no other origin.
// Every string that comes from an article or the model is inserted with textContent
// (never innerHTML): an article holding <script> or <img onerror> shows as text.
"use strict";

const KEY = "newsbot.key"; // sessionStorage: this tab only
const SESSION = "newsbot.session"; // localStorage: the conversation id
const TRANSCRIPT = "newsbot.transcript"; // localStorage: the turns, re-rendered on load
const RECENT = "newsbot.recent"; // localStorage: recent questions, newest first
const RECENT_MAX = 12;

const $ = (id) => document.getElementById(id);
let authNeeded = false;
let controller = null; // the AbortController of the answer being streamed
let articles = [];
let retryAction = null;

// --- storage -------------------------------------------------------------------------

function load(store, name, fallback) {
  try {
    const raw = store.getItem(name);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function save(store, name, value) {
  try {
    store.setItem(name, JSON.stringify(value));
  } catch {
    // storage full or disabled: the page still works, it just forgets on reload
  }
}

function newSessionId() {
  // getRandomValues works outside secure contexts too (randomUUID does not)
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sessionId() {
  let id = load(localStorage, SESSION, null);
  if (typeof id !== "string" || !/^[A-Za-z0-9._~:@-]{1,128}$/.test(id)) {
    id = newSessionId();
    save(localStorage, SESSION, id);
  }
  return id;
}

// --- small DOM helpers (text only) ---------------------------------------------------

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function isoDate(value) {
  return typeof value === "string" ? value.slice(0, 10) : "";
}

// "also: AP (2023-04-03), Yahoo News": the other outlets that carried the cited story.
function alsoLine(citation) {
  const also = Array.isArray(citation.also) ? citation.also : [];
  const names = also.map(
    (a) => (a.source || a.url || a.article_id) + (isoDate(a.date) ? " (" + isoDate(a.date) + ")" : ""),
  );
  return names.length ? "also: " + names.join(", ") : "";
}

function safeUrl(value) {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function status(text, retry) {
  $("status-text").textContent = text || "";
  $("status").hidden = !text;
  retryAction = retry || null;
  $("retry").hidden = !retry;
}

// --- API -----------------------------------------------------------------------------

function headers(extra) {
  const h = Object.assign({ Accept: "application/json" }, extra || {});
  const key = sessionStorage.getItem(KEY);
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

class ApiError extends Error {
  constructor(kind, message, status) {
    super(message);
    this.kind = kind; // "auth", "down", "http"
    this.status = status;
  }
}

async function problemOf(res) {
  let detail = res.statusText || "error";
  try {
    const body = await res.json();
    if (body && typeof body.detail === "string") detail = body.detail;
    else if (body && Array.isArray(body.detail) && body.detail[0] && body.detail[0].msg) {
      detail = String(body.detail[0].msg);
    }
  } catch {
    // not JSON: keep the status text
  }
  if (res.status === 401) {
    return new ApiError("auth", "The server refused the API key (" + detail + ").", 401);
  }
  return new ApiError("http", "The server answered " + res.status + ": " + detail, res.status);
}

async function call(path, init) {
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw new ApiError("down", "Cannot reach the newsbot server. Is it running?", 0);
  }
  if (!res.ok) throw await problemOf(res);
  return res;
}

// --- auth ----------------------------------------------------------------------------

function askForKey(message) {
  authNeeded = true;
  $("key-form").hidden = false;
  if (message) status(message);
  $("key-input").focus();
}

async function checkAccess() {
  try {
    await call("/v1/articles?limit=1", { headers: headers() });
    $("key-form").hidden = true;
    status("");
    return true;
  } catch (e) {
    if (e.kind === "auth") {
      const had = sessionStorage.getItem(KEY);
      sessionStorage.removeItem(KEY);
      askForKey(had ? e.message + " Enter a valid key." : "");
    } else if (e.kind === "down") {
      status(e.message, start);
    } else {
      status(e.message, start);
    }
    return false;
  }
}

async function useKey(event) {
  event.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  $("key-input").value = "";
  if (await checkAccess()) {
    authNeeded = false;
    $("question").focus();
  }
}

// --- rendering -----------------------------------------------------------------------

function openSource(citation) {
  $("source-title").textContent = citation.title || citation.article_id || "Source";
  $("source-outlet").textContent = (citation.source || "Unknown outlet") + " · ";
  const date = isoDate(citation.date);
  $("source-date").textContent = date || "undated";
  if (date) $("source-date").setAttribute("datetime", date);
  else $("source-date").removeAttribute("datetime");
  $("source-quote").textContent = citation.quote || "";
  const also = alsoLine(citation);
  $("source-also").textContent = also;
  $("source-also").hidden = !also;
  const url = safeUrl(citation.url);
  $("source-link-row").hidden = !url;
  if (url) {
    $("source-link").href = url;
    $("source-link").textContent = url;
  } else {
    $("source-link").removeAttribute("href");
  }
  const dialog = $("source");
  if (dialog.open) dialog.close();
  dialog.showModal();
  $("source-close").focus();
}

function citeButton(n, byNumber) {
  const c = byNumber.get(n);
  const b = el("button", "cite", "[" + n + "]");
  b.type = "button";
  b.setAttribute("aria-label", "Source " + n + ": " + (c.title || c.article_id));
  b.addEventListener("click", () => openSource(c));
  return b;
}

// Text with [n] markers: the markers that name a citation become buttons, the rest stays text.
function withCitations(text, byNumber) {
  const frag = document.createDocumentFragment();
  const parts = String(text || "").split(/\[(\d+)\]/);
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      if (part) frag.append(document.createTextNode(part));
    } else if (byNumber.has(Number(part))) {
      frag.append(citeButton(Number(part), byNumber));
    } else {
      frag.append(document.createTextNode("[" + part + "]"));
    }
  });
  return frag;
}

function citationList(values) {
  // conflict / timeline entries may cite one number or several
  if (Array.isArray(values)) return values.map(Number).filter(Number.isFinite);
  if (values === undefined || values === null) return [];
  return [Number(values)].filter(Number.isFinite);
}

function stamp(answer) {
  const parts = [];
  if (answer.as_of) parts.push("As of " + isoDate(answer.as_of));
  if (answer.asked_on) parts.push("asked on " + isoDate(answer.asked_on));
  const w = answer.window;
  if (w && (w.since || w.until)) {
    const since = isoDate(w.since);
    const until = isoDate(w.until);
    let span = since && until ? (since === until ? since : since + " – " + until) : "";
    if (!span) span = until ? "up to " + until : "from " + since;
    parts.push("window " + span + (w.reading ? " (" + w.reading + " dates)" : ""));
  }
  return parts.join(" · ");
}

// The same headings as the CLI's (bot/render.py).
const CONFLICT_HEADINGS = {
  update: "Updated report: the newer value leads",
  disagreement: "Reports differ",
  ambiguous: "The name means more than one thing",
};

function renderConflict(conflict, byNumber) {
  const box = el("section", "conflict");
  const heading = CONFLICT_HEADINGS[conflict.kind] || "Reports differ";
  box.setAttribute("aria-label", heading);
  box.append(el("h3", null, heading));
  const grid = el("ul", "values");
  for (const v of Array.isArray(conflict.values) ? conflict.values : []) {
    if (!v || typeof v !== "object") continue;
    const item = el("li");
    const value = (v.entity ? v.entity + ": " : "") + (v.value ?? "");
    item.append(el("strong", null, value));
    for (const n of citationList(v.citations)) {
      if (byNumber.has(n)) item.append(" ", citeButton(n, byNumber));
    }
    const sources = Array.isArray(v.sources) ? v.sources : [];
    const dates = Array.isArray(v.dates) ? v.dates.map(isoDate) : [];
    const meta = [...new Set([...sources, ...dates].filter(Boolean))].join(", ");
    item.append(el("span", "m", (meta ? " — " + meta : "") + (v.role ? " (" + v.role + ")" : "")));
    grid.append(item);
  }
  box.append(grid);
  return box;
}

function renderTimeline(entries, byNumber) {
  const list = el("ol", "timeline");
  list.setAttribute("aria-label", "Timeline");
  for (const t of entries) {
    if (!t || typeof t !== "object") continue;
    const item = el("li");
    const when = el("time", null, isoDate(t.date) || "undated");
    if (isoDate(t.date)) when.setAttribute("datetime", isoDate(t.date));
    item.append(when, " ");
    item.append(withCitations(t.text ?? t.event ?? "", byNumber));
    for (const n of citationList(t.citations ?? t.n)) {
      if (byNumber.has(n)) item.append(" ", citeButton(n, byNumber));
    }
    list.append(item);
  }
  return list;
}

function renderAnswer(box, answer) {
  box.replaceChildren();
  box.classList.remove("draft");
  box.removeAttribute("aria-busy");
  const byNumber = new Map();
  for (const c of answer.citations || []) byNumber.set(Number(c.n), c);
  if (answer.standalone_question && answer.standalone_question !== answer.question) {
    box.append(el("p", "readas", "Read as: " + answer.standalone_question));
  }
  const when = stamp(answer);
  if (when) box.append(el("p", "stamp", when));
  const text = el("div", "text" + (answer.abstained ? " abstained" : ""));
  text.append(withCitations(answer.text, byNumber));
  box.append(text);
  if (answer.conflict && typeof answer.conflict === "object") {
    box.append(renderConflict(answer.conflict, byNumber));
  }
  if (Array.isArray(answer.timeline) && answer.timeline.length) {
    box.append(renderTimeline(answer.timeline, byNumber));
  }
  if (byNumber.size) {
    const sources = el("ol", "sources");
    sources.setAttribute("aria-label", "Sources");
    for (const c of byNumber.values()) {
      const item = el("li");
      const b = el("button", "source-card");
      b.type = "button";
      b.append(el("span", "n", "[" + c.n + "]"), " ", el("span", "t", c.title || c.article_id));
      const meta = [c.source || "Unknown outlet", isoDate(c.date) || "undated"].join(" · ");
      b.append(el("span", "m", meta));
      const also = alsoLine(c);
      if (also) b.append(el("span", "m", also));
      b.addEventListener("click", () => openSource(c));
      item.append(b);
      sources.append(item);
    }
    box.append(sources);
  }
}

function turnNode(question) {
  const li = el("li", "turn");
  li.append(el("p", "you", question));
  const box = el("div", "bot draft");
  box.setAttribute("aria-busy", "true");
  li.append(box);
  $("transcript").append(li);
  return { li, box };
}

function renderTranscript() {
  $("transcript").replaceChildren();
  for (const turn of load(localStorage, TRANSCRIPT, [])) {
    if (!turn || typeof turn.question !== "string" || !turn.answer) continue;
    renderAnswer(turnNode(turn.question).box, turn.answer);
  }
}

function renderRecent() {
  const list = $("recent-list");
  list.replaceChildren();
  const recent = load(localStorage, RECENT, []);
  if (!recent.length) list.append(el("li", "hint", "None yet."));
  for (const q of recent) {
    const b = el("button", "recent-q", q);
    b.type = "button";
    b.addEventListener("click", () => {
      showView("chat");
      $("question").value = q;
      $("question").focus();
    });
    const li = el("li");
    li.append(b);
    list.append(li);
  }
}

function remember(question, answer) {
  const turns = load(localStorage, TRANSCRIPT, []);
  turns.push({ question, answer });
  save(localStorage, TRANSCRIPT, turns.slice(-50));
  const recent = load(localStorage, RECENT, []).filter((q) => q !== question);
  recent.unshift(question);
  save(localStorage, RECENT, recent.slice(0, RECENT_MAX));
  renderRecent();
}

// --- asking --------------------------------------------------------------------------

function showError(box, message, retry) {
  box.replaceChildren();
  box.classList.remove("draft");
  box.removeAttribute("aria-busy");
  box.classList.add("error");
  const p = el("p", null, message);
  p.setAttribute("role", "alert");
  box.append(p);
  if (retry) {
    const b = el("button", "retry", "Retry");
    b.type = "button";
    b.addEventListener("click", retry);
    box.append(b);
  }
}

function streaming(on) {
  $("send").disabled = on;
  $("stop").hidden = !on;
}

// Parse server-sent events from the fetch body: frames end with a blank line.
async function* sseEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of raw.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function ask(question, turn) {
  if (controller) return;
  if (authNeeded && !sessionStorage.getItem(KEY)) {
    askForKey("Enter an API key first.");
    return;
  }
  const t = turn || turnNode(question);
  t.box.className = "bot draft";
  t.box.setAttribute("aria-busy", "true");
  t.box.replaceChildren(el("span", "wait", "Searching the articles…"));
  t.li.scrollIntoView({ block: "end" });
  status("");
  performance.clearMarks("newsbot-first");
  performance.mark("newsbot-send");
  controller = new AbortController();
  streaming(true);
  let first = true;
  const firstContent = () => {
    if (first) {
      first = false;
      performance.mark("newsbot-first");
      t.box.replaceChildren();
    }
  };
  const retry = () => {
    ask(question, t);
  };
  try {
    const res = await call("/v1/answer", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify({ question, session_id: sessionId(), stream: true }),
      signal: controller.signal,
    });
    let answered = false;
    for await (const { event, data } of sseEvents(res.body)) {
      if (event === "token") {
        firstContent();
        t.box.append(document.createTextNode(data.text || ""));
      } else if (event === "answer") {
        firstContent();
        renderAnswer(t.box, data);
        remember(question, data);
        answered = true;
      } else if (event === "error") {
        showError(t.box, "The answer failed: " + (data.detail || "error"), retry);
        return;
      }
    }
    if (!answered) showError(t.box, "The answer stopped before it was complete.", retry);
  } catch (e) {
    if (e && e.name === "AbortError") {
      showError(t.box, "Stopped. The answer was cancelled.", retry);
    } else if (e.kind === "auth") {
      sessionStorage.removeItem(KEY);
      showError(t.box, e.message + " No answer was given; enter a valid key.", null);
      askForKey(e.message);
    } else if (e.kind === "down") {
      showError(t.box, e.message + " Your question was not answered.", retry);
    } else {
      showError(t.box, (e && e.message) || "Something went wrong.", retry);
    }
  } finally {
    controller = null;
    streaming(false);
  }
}

function submit(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question || controller) return;
  $("question").value = "";
  ask(question);
}

async function newChat() {
  if (controller) controller.abort();
  const old = load(localStorage, SESSION, null);
  save(localStorage, SESSION, newSessionId());
  save(localStorage, TRANSCRIPT, []);
  renderTranscript();
  showView("chat");
  $("question").focus();
  if (typeof old === "string" && old) {
    try {
      const path = "/v1/sessions/" + encodeURIComponent(old) + "/reset";
      await call(path, { method: "POST", headers: headers() });
      status("New chat started.");
    } catch (e) {
      // the new id already starts afresh; the server just keeps the old turns
      status("New chat started (the server could not forget the old one: " + e.message + ")");
    }
  }
}

// --- articles ------------------------------------------------------------------------

async function loadArticles() {
  const count = $("article-count");
  count.textContent = "Loading…";
  try {
    const all = [];
    for (let offset = 0; ; offset += 500) {
      const res = await call("/v1/articles?limit=500&offset=" + offset, { headers: headers() });
      const page = await res.json();
      all.push(...page.items);
      if (!page.items.length || all.length >= page.total) break;
    }
    articles = all;
    filterArticles();
  } catch (e) {
    count.textContent = e.message;
    if (e.kind === "auth") askForKey(e.message);
  }
}

function filterArticles() {
  const words = $("article-search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = articles.filter((a) => {
    const hay = [a.title, a.source, a.date, a.id].join(" ").toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  $("article-count").textContent = shown.length + " of " + articles.length + " articles";
  const list = $("article-list");
  list.replaceChildren();
  for (const a of shown.slice(0, 300)) {
    const li = el("li");
    li.append(el("span", "t", a.title || a.id));
    const meta = el("span", "m", (a.source || "Unknown outlet") + " · ");
    const when = el("time", null, isoDate(a.date) || "undated");
    if (isoDate(a.date)) when.setAttribute("datetime", isoDate(a.date));
    meta.append(when);
    const url = safeUrl(a.url);
    if (url) {
      const link = el("a", null, "link");
      link.href = url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      meta.append(" · ", link);
    }
    li.append(meta);
    list.append(li);
  }
}

function showView(name) {
  const chat = name === "chat";
  $("chat-view").hidden = !chat;
  $("articles-view").hidden = chat;
  $("show-chat").setAttribute("aria-pressed", String(chat));
  $("show-articles").setAttribute("aria-pressed", String(!chat));
  if (!chat) {
    loadArticles();
    $("article-search").focus();
  }
}

// --- start ---------------------------------------------------------------------------

async function start() {
  status("");
  const ok = await checkAccess();
  authNeeded = !ok && !$("key-form").hidden;
  if (ok) authNeeded = !!sessionStorage.getItem(KEY);
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", submit);
  $("question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && controller) {
      e.preventDefault();
      controller.abort();
    }
  });
  $("stop").addEventListener("click", () => controller && controller.abort());
  $("new-chat").addEventListener("click", newChat);
  $("key-form").addEventListener("submit", useKey);
  $("retry").addEventListener("click", () => retryAction && retryAction());
  $("show-chat").addEventListener("click", () => showView("chat"));
  $("show-articles").addEventListener("click", () => showView("articles"));
  $("article-search").addEventListener("input", filterArticles);
  renderTranscript();
  renderRecent();
  start();
  $("question").focus();
});
