// Message catalogs: every string a person reads comes from static/i18n/<lang>.json through t().
// English is always loaded as the fallback, so a key missing from another catalog still reads well.
// A feature keeps its strings in its own namespace, static/i18n/<ns>.<lang>.json with keys "<ns>.…", so
// engineers working on different views never edit the same file; a language's catalogs are merged.

export const LANGUAGES = Object.freeze(["en", "zh"]);
/** "" is the page's own catalog (<lang>.json); every other entry is a namespace (<ns>.<lang>.json). */
export const NAMESPACES = Object.freeze(["", "cnn", "learn"]);
const HTML_LANG = { en: "en", zh: "zh-CN" };
const STORAGE_KEY = "gdviz.lang";

const catalogs = new Map(); // lang → {key: text}
let current = "en";
const listeners = new Set();

async function fetchPart(ns, lang) {
  const file = ns ? `${ns}.${lang}.json` : `${lang}.json`;
  const response = await fetch(`/static/i18n/${file}`);
  if (!response.ok) throw new Error(`catalog ${file}: HTTP ${response.status}`);
  return response.json();
}

/** Every namespace's catalog for lang, merged into one {key: text}, fetched once. */
async function fetchCatalog(lang) {
  if (!catalogs.has(lang)) {
    const parts = await Promise.all(NAMESPACES.map((ns) => fetchPart(ns, lang)));
    catalogs.set(lang, Object.assign({}, ...parts));
  }
  return catalogs.get(lang);
}

/** The language to start in: the URL's, else the remembered one, else the browser's. */
export function initialLanguage(fromUrl) {
  if (LANGUAGES.includes(fromUrl)) return fromUrl;
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    stored = null; // storage disabled: fall through to the browser's language
  }
  if (LANGUAGES.includes(stored)) return stored;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function language() {
  return current;
}

export async function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) lang = "en";
  await Promise.all([fetchCatalog("en"), fetchCatalog(lang)]);
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // storage disabled: the URL still carries the language
  }
  document.documentElement.lang = HTML_LANG[lang];
  applyTo(document);
  for (const listener of listeners) listener(lang);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

export function has(key) {
  return key in (catalogs.get(current) || {}) || key in (catalogs.get("en") || {});
}

/** The text for key in the current language, with {name} placeholders filled from params. */
export function t(key, params) {
  const text = catalogs.get(current)?.[key] ?? catalogs.get("en")?.[key];
  if (text === undefined) return key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** t(key) when the catalog has it, else the server's own text (e.g. a surface's English name). */
export function tOr(key, fallback, params) {
  return has(key) ? t(key, params) : fallback;
}

const ATTRIBUTES = [
  ["i18nTitle", "title"],
  ["i18nAriaLabel", "aria-label"],
  ["i18nPlaceholder", "placeholder"],
];

/** Fill every data-i18n* element under root: text content, title, aria-label, placeholder. */
export function applyTo(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const [data, attribute] of ATTRIBUTES) {
    const selector = `[data-${attribute === "aria-label" ? "i18n-aria-label" : `i18n-${attribute}`}]`;
    for (const node of root.querySelectorAll(selector)) node.setAttribute(attribute, t(node.dataset[data]));
  }
}
