/*
 * <qa-chat>: an embeddable, dependency-free chat widget for the news question-answering service.
 *
 *   <script src="https://host/widget.js" defer></script>
 *   <qa-chat mode="launcher" title="Ask the news" accent="#2563eb"></qa-chat>
 *
 * Attributes: endpoint (default: the origin this script was loaded from), title, placeholder,
 * accent (CSS colour), mode ("launcher", the default, or "inline").
 * Every piece of server data is put in the page as text (textContent / text nodes), never as markup.
 */
(() => {
  "use strict";
  if (customElements.get("qa-chat")) return;

  // Read at load time: document.currentScript is null once the script has finished running.
  const SCRIPT_ORIGIN = (() => {
    try {
      return new URL(document.currentScript.src).origin;
    } catch {
      return location.origin;
    }
  })();

  const ABSTAIN_TEXT = "The sources don't answer this.";
  const HISTORY_TURNS = 4; // earlier turns sent with a question, so follow-ups keep their referent
  const HISTORY_ANSWER_CHARS = 1000;
  const CONTEXT_CHARS = 120;

  const svg = (body) =>
    `<svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" ` +
    `stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" ` +
    `focusable="false">${body}</svg>`;
  const ICON_CHAT = svg('<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/>');
  const ICON_DOWN = svg('<path d="M6 9l6 6 6-6"/>');
  const ICON_CLOSE = svg('<path d="M18 6L6 18M6 6l12 12"/>');
  const ICON_SEND = svg('<path d="M5 12h14M13 6l6 6-6 6"/>');
  const ICON_INFO = svg('<circle cx="12" cy="12" r="9"/><path d="M12 11v5M12 8h.01"/>');
  const ICON_ALERT = svg('<path d="M12 3l9.5 17h-19z"/><path d="M12 10v4M12 17h.01"/>');

  const STYLE = `
:host {
  --qa-accent: #2563eb;
  --qa-on-accent: #ffffff;
  --qa-bg: #ffffff;
  --qa-surface: #f3f4f6;
  --qa-text: #1b1e24;
  --qa-muted: #5b616e;
  --qa-border: #e3e6eb;
  --qa-mark: #fde68a;
  --qa-mark-text: #1b1e24;
  --qa-error-bg: #fdeeee;
  --qa-error-text: #8f1d1d;
  --qa-shadow: 0 18px 48px rgba(15, 23, 42, 0.18), 0 2px 8px rgba(15, 23, 42, 0.08);
  --qa-cite-text: color-mix(in srgb, var(--qa-accent) 80%, black);
  display: block;
  color: var(--qa-text);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :host {
    --qa-bg: #17191e;
    --qa-surface: #23262d;
    --qa-text: #e9ebef;
    --qa-muted: #a3a9b4;
    --qa-border: #31353d;
    --qa-mark: #7c6a1a;
    --qa-mark-text: #fff8dc;
    --qa-error-bg: #3b1f21;
    --qa-error-text: #ffc2c2;
    --qa-shadow: 0 18px 48px rgba(0, 0, 0, 0.5), 0 2px 8px rgba(0, 0, 0, 0.3);
    --qa-cite-text: color-mix(in srgb, var(--qa-accent) 55%, white);
  }
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; cursor: pointer; }
:focus-visible { outline: 2px solid var(--qa-accent); outline-offset: 2px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap;
}
.launcher {
  position: fixed; right: 24px; bottom: 24px; z-index: 2147483000;
  width: 56px; height: 56px; border: 0; border-radius: 50%;
  display: grid; place-items: center;
  background: var(--qa-accent); color: var(--qa-on-accent); box-shadow: var(--qa-shadow);
  transition: transform 160ms ease;
}
.launcher:hover { transform: scale(1.05); }
.launcher svg { width: 26px; height: 26px; }
.panel {
  position: relative; display: flex; flex-direction: column; overflow: hidden;
  background: var(--qa-bg); border: 1px solid var(--qa-border); border-radius: 16px;
}
.root.launcher-mode .panel {
  position: fixed; right: 24px; bottom: 92px; z-index: 2147483000;
  width: min(400px, calc(100vw - 32px)); height: min(620px, calc(100vh - 120px));
  box-shadow: var(--qa-shadow); animation: qa-rise 180ms ease-out;
}
.root.inline-mode .panel { height: var(--qa-height, 560px); width: 100%; }
.root.inline-mode .launcher, .root.inline-mode .close { display: none; }
@keyframes qa-rise { from { opacity: 0; transform: translateY(12px); } }
.head {
  display: flex; align-items: center; gap: 12px; padding: 14px 16px;
  background: var(--qa-accent); color: var(--qa-on-accent);
}
.head-text { flex: 1; min-width: 0; }
.title { margin: 0; font-size: 16px; font-weight: 650; line-height: 1.3; }
.subtitle { margin: 2px 0 0; font-size: 12.5px; opacity: 0.85; }
.close {
  border: 0; background: transparent; color: inherit; border-radius: 8px;
  width: 34px; height: 34px; display: grid; place-items: center;
}
.close:hover { background: rgba(255, 255, 255, 0.16); }
.head :focus-visible { outline-color: var(--qa-on-accent); }
.log {
  flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 12px;
  overscroll-behavior: contain;
}
.empty { margin: auto 8px; text-align: center; color: var(--qa-muted); font-size: 14px; }
.empty strong { display: block; color: var(--qa-text); font-size: 15px; margin-bottom: 4px; }
.msg { max-width: 88%; padding: 10px 14px; border-radius: 16px; overflow-wrap: anywhere; }
.msg p { margin: 0; }
.msg p + p, .msg p + .sources { margin-top: 8px; }
.user {
  align-self: flex-end; background: var(--qa-accent); color: var(--qa-on-accent);
  border-bottom-right-radius: 4px; white-space: pre-wrap;
}
.bot { align-self: flex-start; background: var(--qa-surface); border-bottom-left-radius: 4px; }
.answer { white-space: pre-wrap; }
.short { font-weight: 650; }
.bot.abstained {
  background: transparent; border: 1px dashed var(--qa-border); color: var(--qa-muted);
}
.notice { display: flex; gap: 8px; align-items: flex-start; }
.notice svg { flex: none; margin-top: 2px; width: 18px; height: 18px; }
.abstained .notice { color: var(--qa-text); font-weight: 600; }
.detail { font-size: 13.5px; }
.bot.error { background: var(--qa-error-bg); color: var(--qa-error-text); }
.retry {
  margin-top: 8px; padding: 5px 14px; border-radius: 999px;
  border: 1px solid currentColor; background: transparent; font-size: 13.5px; font-weight: 600;
}
.retry:hover { background: color-mix(in srgb, currentColor 10%, transparent); }
.cite {
  display: inline-grid; place-items: center; min-width: 1.6em; height: 1.6em; padding: 0 6px;
  margin: 0 2px; vertical-align: 0.05em; border: 0; border-radius: 6px; cursor: pointer;
  font-size: 13.5px; font-weight: 700; line-height: 1;
  background: color-mix(in srgb, var(--qa-accent) 16%, transparent); color: var(--qa-cite-text);
}
.cite:hover, .cite[aria-expanded="true"] { background: var(--qa-accent); color: var(--qa-on-accent); }
.sources {
  margin: 0; padding: 8px 0 0; list-style: none; border-top: 1px solid var(--qa-border);
  font-size: 12.5px; color: var(--qa-muted);
}
.sources li { display: flex; gap: 6px; }
.sources li + li { margin-top: 2px; }
.sources .n { font-weight: 700; flex: none; }
.note { font-size: 12.5px; color: var(--qa-muted); }
.answering { margin: 0 0 6px; font-size: 12px; color: var(--qa-muted); font-style: italic; }
.restart {
  border: 0; background: transparent; color: inherit; border-radius: 8px; padding: 4px 8px;
  font-size: 12.5px; opacity: 0.9;
}
.restart:hover { background: rgba(255, 255, 255, 0.16); }
.typing { display: inline-flex; gap: 4px; align-items: center; height: 1.2em; }
.typing span {
  width: 7px; height: 7px; border-radius: 50%; background: var(--qa-muted); opacity: 0.35;
  animation: qa-blink 1.2s infinite ease-in-out;
}
.typing span:nth-child(2) { animation-delay: 0.15s; }
.typing span:nth-child(3) { animation-delay: 0.3s; }
@keyframes qa-blink { 40% { opacity: 1; transform: translateY(-2px); } }
.status { margin-left: 8px; font-size: 13px; color: var(--qa-muted); }
.composer {
  display: flex; gap: 8px; padding: 12px; border-top: 1px solid var(--qa-border);
  background: var(--qa-bg);
}
.input {
  flex: 1; min-width: 0; padding: 10px 14px; border-radius: 999px;
  border: 1px solid var(--qa-border); background: var(--qa-surface); color: var(--qa-text);
  font: inherit;
}
.input::placeholder { color: var(--qa-muted); }
.input:focus-visible { outline-offset: 0; border-color: var(--qa-accent); }
.send {
  flex: none; width: 42px; height: 42px; border: 0; border-radius: 50%;
  display: grid; place-items: center; background: var(--qa-accent); color: var(--qa-on-accent);
}
.send:disabled { opacity: 0.45; cursor: default; }
.pop {
  position: absolute; left: 12px; right: 12px; bottom: 74px; z-index: 1;
  max-height: calc(100% - 150px); overflow-y: auto; padding: 14px 16px;
  background: var(--qa-bg); color: var(--qa-text);
  border: 1px solid var(--qa-border); border-radius: 14px; box-shadow: var(--qa-shadow);
  animation: qa-rise 140ms ease-out;
}
.pop:focus { outline: none; }
.pop:focus-visible { outline: 2px solid var(--qa-accent); outline-offset: 0; }
.pop-head { display: flex; align-items: flex-start; gap: 10px; }
.pop-n {
  flex: none; display: inline-grid; place-items: center; min-width: 1.7em; height: 1.7em;
  border-radius: 6px; background: var(--qa-accent); color: var(--qa-on-accent);
  font-size: 12px; font-weight: 700;
}
.pop-title {
  flex: 1; margin: 0; font-size: 15px; font-weight: 650; line-height: 1.35;
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; overflow: hidden;
}
.pop-close {
  flex: none; border: 0; background: transparent; border-radius: 8px; width: 30px; height: 30px;
  display: grid; place-items: center; color: var(--qa-muted); margin: -4px -6px 0 0;
}
.pop-close:hover { background: var(--qa-surface); color: var(--qa-text); }
.pop-meta { margin: 4px 0 10px; font-size: 12.5px; color: var(--qa-muted); }
.pop-quote {
  margin: 0; padding: 2px 0 2px 12px; border-left: 3px solid var(--qa-accent);
  font-size: 14px; line-height: 1.6; white-space: pre-line; color: var(--qa-muted);
}
mark { background: var(--qa-mark); color: var(--qa-mark-text); padding: 1px 2px; border-radius: 3px; }
.pop-note { margin: 8px 0 0; font-size: 12.5px; color: var(--qa-muted); }
@media (max-width: 480px) {
  .root.launcher-mode .panel { right: 8px; left: 8px; bottom: 84px; width: auto; }
  .launcher { right: 16px; bottom: 16px; }
}
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important; }
}
`;

  // Constant markup only: no server or attribute data is ever interpolated here.
  const TEMPLATE = `
<div class="root" title="">
  <button class="launcher" type="button" part="launcher" aria-expanded="false"
    aria-controls="panel" aria-label="Open chat">${ICON_CHAT}</button>
  <section class="panel" id="panel" part="panel" aria-labelledby="title">
    <header class="head">
      <div class="head-text">
        <h2 class="title" id="title"></h2>
        <p class="subtitle">Answers quote the articles they come from</p>
      </div>
      <button class="restart" type="button" hidden>New conversation</button>
      <button class="close" type="button" aria-label="Close chat">${ICON_CLOSE}</button>
    </header>
    <div class="log" role="log" aria-live="polite" aria-busy="false" aria-labelledby="title">
      <div class="empty"><strong>Ask a question about the news</strong>
        Every answer points to the exact words of its source.</div>
    </div>
    <form class="composer">
      <label class="sr-only" for="q">Your question</label>
      <input class="input" id="q" name="q" type="text" autocomplete="off" maxlength="1000"
        enterkeyhint="send">
      <button class="send" type="submit" aria-label="Send question">${ICON_SEND}</button>
    </form>
    <div class="pop" role="dialog" aria-labelledby="pop-title" tabindex="-1" hidden>
      <div class="pop-head">
        <span class="pop-n" aria-hidden="true"></span>
        <h3 class="pop-title" id="pop-title"></h3>
        <button class="pop-close" type="button" aria-label="Close quote">${ICON_CLOSE}</button>
      </div>
      <p class="pop-meta"></p>
      <blockquote class="pop-quote"></blockquote>
      <p class="pop-note" hidden></p>
    </div>
  </section>
</div>`;

  /** An error the widget explains to the reader; `retry` says whether asking again may help. */
  // Which mode answered, and why the model's answer was not used when it was not.
  const FALLBACK_NOTES = {
    llm_loading: "the writing model is still loading",
    llm_failed: "the writing model could not start",
    llm_off: "the writing model is turned off",
    llm_not_configured: "no writing model is configured",
    unsupported_claims: "the model's answer was not supported by the sources",
    llm_declined: "the model found no answer in the sources",
    not_in_sources: "the sources don't state what the question asks, so the model was not asked",
    sources_differ: "the sources give different answers, shown side by side",
    no_evidence: "nothing in the sources matched the question",
    output_too_long: "the model's answer ran too long",
  };
  function modeNote(answer) {
    if (answer.mode === "llm") return "Written by the language model; every sentence checked against its source.";
    if (!answer.fallback_reason) return "Quoted straight from the articles.";
    const why = FALLBACK_NOTES[answer.fallback_reason] || "the writing model was unavailable";
    return `Quoted straight from the articles: ${why}.`;
  }

  class ShownError extends Error {
    constructor(message, retry) {
      super(message);
      this.retry = retry;
    }
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function formatDate(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    if (!m) return iso || "";
    const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return date.toLocaleDateString(undefined, {
      year: "numeric", month: "long", day: "numeric", timeZone: "UTC",
    });
  }

  function describe(source, published) {
    return [source, formatDate(published)].filter(Boolean).join(" · ");
  }

  /** The quote with a few words of its article on either side (paragraph breaks kept). */
  function excerpt(text, start, end) {
    let from = Math.max(0, start - CONTEXT_CHARS);
    let to = Math.min(text.length, end + CONTEXT_CHARS);
    if (from > 0) {
      const space = text.slice(from, start).search(/\s/);
      if (space >= 0) from += space + 1;
    }
    if (to < text.length) {
      const lastSpace = text.slice(end, to).search(/\s\S*$/);
      if (lastSpace >= 0) to = end + lastSpace;
    }
    const tidy = (part) => part.replace(/\s*\n\s*/g, "\n").replace(/[ \t]+/g, " ");
    return {
      before: (from > 0 ? "…" : "") + tidy(text.slice(from, start)).replace(/^\s+/, ""),
      quote: text.slice(start, end),
      after: tidy(text.slice(end, to)).replace(/\s+$/, "") + (to < text.length ? "…" : ""),
    };
  }

  /** Parse a text/event-stream body into {event, data} records as bytes arrive. */
  async function* readEvents(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = "message";
    let data = [];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
        // A trailing "\r" may be the first half of "\r\n": wait for the next chunk.
        const held = !done && buffer.endsWith("\r") ? "\r" : "";
        const lines = (held ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
        buffer = (done ? "" : lines.pop()) + held;
        for (const line of lines) {
          if (line === "") {
            if (data.length) yield { event, data: data.join("\n") };
            event = "message";
            data = [];
            continue;
          }
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
        if (done) {
          if (data.length) yield { event, data: data.join("\n") };
          return;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  async function responseError(res) {
    if (res.status === 429) {
      const wait = Number(res.headers.get("Retry-After"));
      const when = wait > 0 ? `in ${Math.ceil(wait)} seconds` : "in a moment";
      return new ShownError(`Too many questions right now. Please try again ${when}.`, true);
    }
    if (res.status >= 500) {
      return new ShownError(`The answer service had a problem (${res.status}). Please try again.`, true);
    }
    let detail = "";
    try {
      const body = await res.json();
      detail = typeof body.detail === "string" ? body.detail : "";
    } catch {
      // A non-JSON error body: the status alone has to do.
    }
    return new ShownError(detail || `The question could not be asked (${res.status}).`, false);
  }

  function accentText(color) {
    const probe = el("span");
    probe.style.color = color;
    if (!probe.style.color) return null;
    (document.body || document.documentElement).append(probe);
    const rgb = getComputedStyle(probe).color.match(/[\d.]+/g).map(Number);
    probe.remove();
    const lum = ([r, g, b]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
    return lum(rgb) > 160 ? "#111418" : "#ffffff";
  }

  class QAChat extends HTMLElement {
    static observedAttributes = ["title", "placeholder", "accent", "mode"];

    constructor() {
      super();
      this.busy = false;
      this.turns = []; // this conversation's answered turns; kept in memory only
      this.documents = new Map();
      this.quoteOpener = null;
      const root = this.attachShadow({ mode: "open" });
      const style = el("style");
      style.textContent = STYLE;
      const holder = el("template");
      holder.innerHTML = TEMPLATE;
      root.append(style, holder.content);
      const $ = (sel) => root.querySelector(sel);
      this.ui = {
        root: $(".root"), launcher: $(".launcher"), panel: $(".panel"), title: $(".title"),
        close: $(".close"), restart: $(".restart"), log: $(".log"), form: $(".composer"), input: $(".input"),
        send: $(".send"), pop: $(".pop"), popN: $(".pop-n"), popTitle: $(".pop-title"),
        popMeta: $(".pop-meta"), popQuote: $(".pop-quote"), popNote: $(".pop-note"),
        popClose: $(".pop-close"),
      };
      this.bindEvents(root);
    }

    connectedCallback() {
      for (const name of QAChat.observedAttributes) this.attributeChangedCallback(name);
    }

    attributeChangedCallback(name) {
      const ui = this.ui;
      if (name === "title") {
        ui.title.textContent = this.getAttribute("title") || "Ask the news";
      } else if (name === "placeholder") {
        ui.input.placeholder = this.getAttribute("placeholder") || "Ask a question…";
      } else if (name === "accent") {
        const accent = this.getAttribute("accent");
        const onAccent = accent && this.isConnected ? accentText(accent) : null;
        if (onAccent) {
          this.style.setProperty("--qa-accent", accent);
          this.style.setProperty("--qa-on-accent", onAccent);
        } else {
          this.style.removeProperty("--qa-accent");
          this.style.removeProperty("--qa-on-accent");
        }
      } else if (name === "mode") {
        const inline = this.mode === "inline";
        ui.root.classList.toggle("inline-mode", inline);
        ui.root.classList.toggle("launcher-mode", !inline);
        ui.panel.hidden = !inline && ui.launcher.getAttribute("aria-expanded") !== "true";
        if (inline) ui.panel.removeAttribute("role");
        else ui.panel.setAttribute("role", "dialog");
      }
    }

    get mode() {
      return this.getAttribute("mode") === "inline" ? "inline" : "launcher";
    }

    get endpoint() {
      return (this.getAttribute("endpoint") || SCRIPT_ORIGIN).replace(/\/+$/, "");
    }

    bindEvents(root) {
      const ui = this.ui;
      ui.launcher.addEventListener("click", () => (ui.panel.hidden ? this.open() : this.close()));
      ui.close.addEventListener("click", () => this.close());
      ui.restart.addEventListener("click", () => this.restart());
      ui.form.addEventListener("submit", (event) => {
        event.preventDefault();
        const question = ui.input.value.trim();
        if (!question || this.busy) return;
        ui.input.value = "";
        this.ask(question);
      });
      ui.popClose.addEventListener("click", () => this.closeQuote(true));
      ui.log.addEventListener("click", (event) => {
        if (!ui.pop.hidden && !event.target.closest(".cite")) this.closeQuote(false);
      });
      root.addEventListener("keydown", (event) => {
        if (event.key !== "Escape") return;
        if (!ui.pop.hidden) {
          event.preventDefault();
          this.closeQuote(true);
        } else if (this.mode === "launcher" && !ui.panel.hidden) {
          event.preventDefault();
          this.close();
        }
      });
    }

    open() {
      this.ui.panel.hidden = false;
      this.ui.launcher.setAttribute("aria-expanded", "true");
      this.ui.launcher.setAttribute("aria-label", "Close chat");
      this.ui.launcher.innerHTML = ICON_DOWN;
      this.ui.input.focus();
    }

    close() {
      if (this.mode === "inline") return;
      this.closeQuote(false);
      this.ui.panel.hidden = true;
      this.ui.launcher.setAttribute("aria-expanded", "false");
      this.ui.launcher.setAttribute("aria-label", "Open chat");
      this.ui.launcher.innerHTML = ICON_CHAT;
      this.ui.launcher.focus();
    }

    /** Forget the conversation: the next question stands on its own. */
    restart() {
      if (this.busy) return;
      this.closeQuote(false);
      this.turns = [];
      const holder = el("template");
      holder.innerHTML = TEMPLATE;
      this.ui.log.replaceChildren(holder.content.querySelector(".empty"));
      this.ui.restart.hidden = true;
      this.ui.input.focus();
    }

    /** Ask a question and stream its answer into the conversation. */
    ask(question) {
      const empty = this.ui.log.querySelector(".empty");
      if (empty) empty.remove();
      this.closeQuote(false);
      this.ui.log.append(el("div", "msg user", question));
      const message = el("div", "msg bot");
      this.ui.log.append(message);
      return this.answerInto(message, question);
    }

    async answerInto(message, question) {
      const history = this.turns.slice(-HISTORY_TURNS);
      this.setBusy(true);
      this.showTyping(message, "");
      let answerText = null;
      try {
        const res = await fetch(`${this.endpoint}/v1/ask`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
          body: JSON.stringify(history.length ? { question, history } : { question }),
        }).catch(() => {
          throw new ShownError(
            "Couldn't reach the answer service. Check your connection and try again.", true);
        });
        if (!res.ok) throw await responseError(res);
        let final = null;
        if ((res.headers.get("Content-Type") || "").includes("text/event-stream")) {
          for await (const { event, data } of readEvents(res.body)) {
            let payload;
            try {
              payload = JSON.parse(data);
            } catch {
              throw new ShownError("The answer service sent a reply the widget can't read.", true);
            }
            if (event === "sources") {
              const n = Array.isArray(payload) ? payload.length : 0;
              this.showTyping(message, `Reading ${n} passage${n === 1 ? "" : "s"}…`);
            } else if (event === "delta" && typeof payload.text === "string") {
              if (answerText === null) {
                answerText = document.createTextNode("");
                message.className = "msg bot streaming";
                message.replaceChildren(el("p", "answer"));
                message.firstChild.append(answerText);
              }
              answerText.appendData(payload.text);
            } else if (event === "done") {
              final = payload;
            } else if (event === "error") {
              throw new ShownError(payload.message || "The answer could not be completed.", true);
            }
            this.scrollToEnd();
          }
        } else {
          final = await res.json();
        }
        if (!final || typeof final.answer !== "string") {
          throw new ShownError("The answer stopped before it was complete.", true);
        }
        this.renderAnswer(message, final);
        this.turns.push({
          question,
          answer: final.answer.slice(0, HISTORY_ANSWER_CHARS),
          ...(final.short_answer ? { short_answer: final.short_answer.slice(0, HISTORY_ANSWER_CHARS) } : {}),
        });
        this.ui.restart.hidden = false;
      } catch (err) {
        const shown = err instanceof ShownError ? err : new ShownError(
          "The connection was interrupted before the answer was complete.", true);
        this.renderError(message, question, shown);
      } finally {
        this.setBusy(false);
        this.scrollToEnd();
      }
    }

    setBusy(busy) {
      this.busy = busy;
      this.ui.log.setAttribute("aria-busy", String(busy));
      this.ui.send.disabled = busy;
    }

    showTyping(message, status) {
      const dots = el("span", "typing");
      dots.append(el("span"), el("span"), el("span"));
      message.className = "msg bot pending";
      message.replaceChildren(dots, el("span", "status", status || "Searching the articles…"));
    }

    /** Re-render a message from the final Answer: markers become citation buttons. */
    renderAnswer(message, answer) {
      this.renderAnswerBody(message, answer);
      const asked = typeof answer.question === "string" ? answer.question : "";
      const answered = answer.standalone_question;
      if (typeof answered === "string" && answered && answered !== asked) {
        message.prepend(el("p", "answering", `Answering: ${answered}`));
      }
    }

    renderAnswerBody(message, answer) {
      const citations = Array.isArray(answer.citations) ? answer.citations : [];
      if (answer.abstained) {
        message.className = "msg bot abstained";
        const said = answer.answer.trim();
        const own = said.startsWith(ABSTAIN_TEXT.slice(0, -1));
        const notice = el("p", "notice");
        notice.innerHTML = ICON_INFO;
        notice.append(own ? said : ABSTAIN_TEXT);
        message.replaceChildren(notice);
        if (said && !own) message.append(el("p", "detail", said));
        message.append(el("p", "detail", "Try asking about something the articles report."));
        return;
      }
      message.className = "msg bot done";
      message.replaceChildren();
      if (answer.short_answer) message.append(el("p", "short", answer.short_answer));
      const body = el("p", "answer");
      const byMarker = new Map(citations.map((c) => [c.marker, c]));
      answer.answer.split(/\[(\d+)\]/).forEach((part, i) => {
        const citation = i % 2 ? byMarker.get(Number(part)) : null;
        if (citation) body.append(this.citeButton(citation));
        else if (part) body.append(i % 2 ? `[${part}]` : part);
      });
      message.append(body);
      if (citations.length) {
        const list = el("ol", "sources");
        list.setAttribute("aria-label", "Sources");
        for (const c of [...citations].sort((a, b) => a.marker - b.marker)) {
          const item = el("li");
          item.append(el("span", "n", `${c.marker}.`),
            el("span", null, [c.title, describe(c.source, c.published)].filter(Boolean).join(" — ")));
          list.append(item);
        }
        message.append(list);
      }
      if (!answer.abstained || answer.fallback_reason) message.append(el("p", "note", modeNote(answer)));
    }

    citeButton(citation) {
      const button = el("button", "cite", String(citation.marker));
      button.type = "button";
      button.setAttribute("aria-label", `Source ${citation.marker}: ${citation.title}`);
      button.setAttribute("aria-haspopup", "dialog");
      button.setAttribute("aria-expanded", "false");
      button.dataset.docId = citation.doc_id;
      button.addEventListener("click", () => this.openQuote(button, citation));
      return button;
    }

    renderError(message, question, error) {
      message.className = "msg bot error";
      const notice = el("p", "notice");
      notice.setAttribute("role", "alert");
      notice.innerHTML = ICON_ALERT;
      notice.append(error.message);
      message.replaceChildren(notice);
      if (error.retry) {
        const retry = el("button", "retry", "Retry");
        retry.type = "button";
        retry.addEventListener("click", () => {
          if (this.busy) return;
          this.ui.input.focus();
          this.answerInto(message, question);
        });
        message.append(retry);
      }
    }

    /** Show a citation's quote inside its article's own words, with title, source and date. */
    async openQuote(button, citation) {
      const ui = this.ui;
      if (this.quoteOpener === button && !ui.pop.hidden) return this.closeQuote(true);
      this.closeQuote(false);
      this.quoteOpener = button;
      button.setAttribute("aria-expanded", "true");
      ui.popN.textContent = String(citation.marker);
      ui.popTitle.textContent = citation.title;
      ui.popMeta.textContent = describe(citation.source, citation.published);
      const mark = el("mark", null, citation.quote);
      ui.popQuote.replaceChildren(mark);
      ui.popNote.hidden = true;
      ui.pop.dataset.state = "loading";
      ui.pop.hidden = false;
      ui.pop.scrollTop = 0;
      ui.pop.focus();
      this.revealAbovePopover(button);
      try {
        const doc = await this.loadDocument(citation.doc_id);
        if (this.quoteOpener !== button) return;
        const part = excerpt(doc.text, citation.start, citation.end);
        if (doc.title) ui.popTitle.textContent = doc.title;
        ui.popMeta.textContent = describe(doc.source, doc.published);
        ui.popQuote.replaceChildren(part.before, el("mark", null, part.quote), part.after);
        ui.pop.dataset.state = "loaded";
        this.revealAbovePopover(button);
      } catch {
        if (this.quoteOpener !== button) return;
        ui.popNote.textContent = "The full article could not be loaded, so only the quote is shown.";
        ui.popNote.hidden = false;
        ui.pop.dataset.state = "failed";
      }
    }

    /** Scroll the conversation so the citation that opened the popover stays in sight above it. */
    revealAbovePopover(button) {
      const log = this.ui.log;
      const logBox = log.getBoundingClientRect();
      const popTop = this.ui.pop.getBoundingClientRect().top;
      log.style.paddingBottom = `${Math.max(16, logBox.bottom - popTop + 16)}px`;
      const below = button.getBoundingClientRect().bottom - (popTop - 12);
      const above = logBox.top + 8 - button.getBoundingClientRect().top;
      if (below > 0) log.scrollTop += below;
      else if (above > 0) log.scrollTop -= above;
    }

    closeQuote(returnFocus) {
      const opener = this.quoteOpener;
      this.quoteOpener = null;
      this.ui.pop.hidden = true;
      this.ui.log.style.removeProperty("padding-bottom");
      if (!opener) return;
      opener.setAttribute("aria-expanded", "false");
      if (returnFocus && opener.isConnected) opener.focus();
    }

    loadDocument(docId) {
      if (!this.documents.has(docId)) {
        const url = `${this.endpoint}/v1/documents/${encodeURIComponent(docId)}`;
        const request = fetch(url, { headers: { Accept: "application/json" } }).then((res) => {
          if (!res.ok) throw new Error(`document ${res.status}`);
          return res.json();
        });
        request.catch(() => this.documents.delete(docId));
        this.documents.set(docId, request);
      }
      return this.documents.get(docId);
    }

    scrollToEnd() {
      const log = this.ui.log;
      log.scrollTop = log.scrollHeight;
    }
  }

  customElements.define("qa-chat", QAChat);
})();
