// Agent text as safe Markdown: a small subset (paragraphs, headings, lists, code blocks,
// inline code, bold, italics, links shown as text) turned into DOM nodes. Nothing from the
// agent is ever parsed as HTML: every piece goes in as a text node.

import { h } from "./dom.js";

const INLINE = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*([^*\n]+)\*\*|__([^_\n]+)__|\*([^*\n]+)\*|\[([^\]\n]+)\]\(([^)\s]+)\)/g;

/** Inline spans of one line or paragraph as nodes. */
export function inline(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) out.push(h("code", { text: m[2] }));
    else if (m[3] || m[4]) out.push(h("strong", { text: m[3] || m[4] }));
    else if (m[5]) out.push(h("em", { text: m[5] }));
    else out.push(h("span", { class: "md-link", title: m[7], text: m[6] })); // never a live link
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Markdown text as a fragment of block elements. */
export function renderMarkdown(source) {
  const lines = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  const blocks = [];
  let para = [];
  let list = null;
  const flushPara = () => {
    if (para.length) blocks.push(h("p", {}, inline(para.join("\n"))));
    para = [];
  };
  const flushList = () => {
    if (list) blocks.push(list);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*(```+|~~~+)/.exec(line);
    if (fence) {
      flushPara();
      flushList();
      const body = [];
      for (i += 1; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) body.push(lines[i]);
      blocks.push(h("pre", { class: "md-code" }, h("code", { text: body.join("\n") })));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line);
    if (!line.trim()) {
      flushPara();
      flushList();
    } else if (heading) {
      flushPara();
      flushList();
      blocks.push(h("p", { class: `md-h md-h${heading[1].length}` }, inline(heading[2])));
    } else if (item) {
      flushPara();
      const tag = item[1] ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        flushList();
        list = h(tag, { class: "md-list" });
      }
      list.append(h("li", {}, inline(item[3])));
    } else if (list && /^\s{2,}\S/.test(line)) {
      list.lastElementChild.append(" ", ...inline(line.trim()));
    } else {
      flushList();
      para.push(line);
    }
  }
  flushPara();
  flushList();
  const frag = document.createDocumentFragment();
  frag.append(...blocks);
  return frag;
}
