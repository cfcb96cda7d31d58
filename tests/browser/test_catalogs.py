"""The message catalogs: the same keys in every language and every namespace's catalog, every key the page
uses is there (and every key of a namespace is used), and no text a person reads is written into a
template or a view as a literal."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.descent.optimizers import OPTIMIZERS
from app.descent.surfaces import SURFACES

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "static/i18n"
LANGUAGES = ("en", "zh")
# The namespaces static/js/i18n.js loads: "" is the page's own catalog (<lang>.json), others <ns>.<lang>.json.
NAMESPACES = json.loads(
    re.search(
        r"NAMESPACES = Object\.freeze\((\[[^\]]*\])\)", (ROOT / "static/js/i18n.js").read_text("utf-8")
    )[1]
)


def catalog_path(ns: str, lang: str) -> Path:
    return I18N / (f"{ns}.{lang}.json" if ns else f"{lang}.json")


PARTS = {
    (ns, lang): json.loads(catalog_path(ns, lang).read_text("utf-8"))
    for ns in NAMESPACES
    for lang in LANGUAGES
}
CATALOGS = {lang: {k: v for ns in NAMESPACES for k, v in PARTS[ns, lang].items()} for lang in LANGUAGES}
# The URL's keys (static/js/state.js), e.g. "cnn.act": quoted like catalog keys, but not text.
URL_KEYS = set(re.findall(r'\{ name: "([a-z0-9_.]+)"', (ROOT / "static/js/state.js").read_text("utf-8")))


def test_every_catalog_file_is_a_namespace_i18n_js_loads():
    on_disk = {path.name for path in I18N.glob("*.json")}
    assert on_disk == {catalog_path(ns, lang).name for ns in NAMESPACES for lang in LANGUAGES}


@pytest.mark.parametrize("ns", NAMESPACES)
def test_every_language_has_the_same_keys(ns):
    assert set(PARTS[ns, "zh"]) == set(PARTS[ns, "en"])


@pytest.mark.parametrize("ns", [ns for ns in NAMESPACES if ns])
def test_a_namespace_holds_only_its_own_keys(ns):
    for lang in LANGUAGES:
        assert [key for key in PARTS[ns, lang] if not key.startswith(f"{ns}.")] == [], (ns, lang)
    others = {key for other in NAMESPACES if other != ns for key in PARTS[other, "en"]}
    assert set(PARTS[ns, "en"]) & others == set()


def test_placeholders_match_across_languages():
    for key, text in CATALOGS["en"].items():
        assert set(re.findall(r"\{(\w+)\}", CATALOGS["zh"][key])) == set(re.findall(r"\{(\w+)\}", text)), key


def used_keys() -> set[str]:
    keys = set()
    for path in (ROOT / "templates").rglob("*.html"):
        keys |= set(re.findall(r'data-i18n[a-z-]*="([^"]+)"', path.read_text("utf-8")))
    for path in (ROOT / "static/js").rglob("*.js"):
        keys |= set(re.findall(r'\bt\("([a-z_.0-9]+)"', path.read_text("utf-8")))
    return keys


def test_every_key_the_page_uses_is_in_the_catalogs():
    assert used_keys() - set(CATALOGS["en"]) == set()


def quoted(ns: str) -> set[str]:
    """Every quoted string of the templates and scripts that looks like a key of namespace ns."""
    found = set()
    for path in [*(ROOT / "templates").rglob("*.html"), *(ROOT / "static/js").rglob("*.js")]:
        found |= set(re.findall(rf"[\"'`]({re.escape(ns)}\.[a-z0-9_.]+)[\"'`]", path.read_text("utf-8")))
    return found - URL_KEYS


@pytest.mark.parametrize("ns", [ns for ns in NAMESPACES if ns])
def test_every_key_of_a_namespace_is_used_and_every_one_used_exists(ns):
    # A namespace's keys are written out in full where they are used (lookup tables, not string building),
    # so both directions can be checked.
    assert set(PARTS[ns, "en"]) - quoted(ns) == set(), "keys no template or script uses"
    assert quoted(ns) - set(PARTS[ns, "en"]) == set(), "keys missing from the catalog"


class _Literals(HTMLParser):
    """Text and text attributes written into a template instead of coming from a catalog. MathML tokens
    (<mi>, <mn>, <mo> inside <math>) are notation, the same in every language, and may be written in a
    template; words inside a formula (<mtext>) may not. Program code (<code>) is notation too; the words of
    its comments come from the catalog (a <span data-i18n> inside it)."""

    ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
    VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "area", "base", "wbr", "track"}
    NOTATION = {"mi", "mn", "mo"}

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)
        self.found += [
            f"{tag} {name}={value!r}"
            for name, value in attrs
            if name in self.ATTRIBUTES and WORDS.search(value or "")
        ]

    def handle_endtag(self, tag):
        if self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_data(self, data):
        if not data.strip() or (self.open and self.open[-1] in ("script", "style")):
            return
        if "math" in self.open and self.open[-1] in self.NOTATION:
            return
        if "code" in self.open:
            return
        self.found.append(data.strip())


WORDS = re.compile(r"[A-Za-z\u4e00-\u9fff]")


def test_the_literal_check_tells_notation_from_words():
    def found(html: str) -> list[str]:
        parser = _Literals()
        parser.feed(html)
        return parser.found

    assert found("<p><math><mi>x</mi><mo>−</mo><mn>2</mn></math></p>") == []
    assert found("<math><mtext>the loss</mtext></math>") == ["the loss"]
    assert found("<label><input name='x'>target</label><math><mi>t</mi></math>") == ["target"]
    assert found("<p>Gradient</p>") == ["Gradient"]
    assert found("<pre><code>print(x.grad)  # <span data-i18n='k'></span></code></pre>") == []


@pytest.mark.parametrize(
    "path", sorted((ROOT / "templates").rglob("*.html")), ids=lambda p: str(p.relative_to(ROOT / "templates"))
)
def test_no_template_writes_text_itself(path):
    text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", "", path.read_text("utf-8"), flags=re.S)
    parser = _Literals()
    parser.feed(text)
    assert parser.found == []


@pytest.mark.parametrize("ns", [ns for ns in NAMESPACES if ns])
def test_no_view_of_a_namespace_writes_text_itself(ns):
    # Text goes into a namespace's views through t(): a literal with letters given as an element's text,
    # title or label is a string a catalog should hold.
    literal = re.compile(
        r"\b(?:text|title|textContent|placeholder|ariaLabel)\s*[:=]\s*([\"'`])[^\"'`]*[A-Za-z\u4e00-\u9fff]"
    )
    for path in (ROOT / "static/js" / ns).rglob("*.js"):
        assert [m[0] for m in literal.finditer(path.read_text("utf-8"))] == [], path.name


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_surface_and_optimizer_has_its_names(lang):
    catalog = CATALOGS[lang]
    for sid in SURFACES:
        assert f"surface.{sid}.name" in catalog and f"surface.{sid}.description" in catalog, sid
    for oid, spec in OPTIMIZERS.items():
        for part in ("name", "short", "summary"):
            assert f"optimizer.{oid}.{part}" in catalog, (oid, part)
        for hp in spec.hyperparameters:
            assert f"hp.{hp.name}" in catalog, hp.name


def test_the_chinese_catalog_is_chinese():
    chinese = [text for text in CATALOGS["zh"].values() if re.search(r"[\u4e00-\u9fff]", text)]
    assert len(chinese) > 0.7 * len(CATALOGS["zh"])
    for word in ("梯度", "学习率", "梯度下降", "动量", "损失"):
        assert any(word in text for text in CATALOGS["zh"].values()), word


def test_no_text_is_written_into_the_page_as_html():
    for path in (ROOT / "static/js").rglob("*.js"):
        assert "innerHTML" not in path.read_text("utf-8"), path
