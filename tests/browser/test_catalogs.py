"""The message catalogs: the same keys in every language, and every key the page uses is there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.descent.optimizers import OPTIMIZERS
from app.descent.surfaces import SURFACES

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = {lang: json.loads((ROOT / f"static/i18n/{lang}.json").read_text("utf-8")) for lang in ("en", "zh")}


def test_every_language_has_the_same_keys():
    assert set(CATALOGS["zh"]) == set(CATALOGS["en"])


def test_placeholders_match_across_languages():
    for key, text in CATALOGS["en"].items():
        assert set(re.findall(r"\{(\w+)\}", CATALOGS["zh"][key])) == set(re.findall(r"\{(\w+)\}", text)), key


def used_keys() -> set[str]:
    keys = set()
    for path in (ROOT / "templates").glob("*.html"):
        keys |= set(re.findall(r'data-i18n[a-z-]*="([^"]+)"', path.read_text("utf-8")))
    for path in (ROOT / "static/js").rglob("*.js"):
        keys |= set(re.findall(r'\bt\("([a-z_.0-9]+)"', path.read_text("utf-8")))
    return keys


def test_every_key_the_page_uses_is_in_the_catalogs():
    assert used_keys() - set(CATALOGS["en"]) == set()


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
