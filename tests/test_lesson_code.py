"""The "In PyTorch" blocks of lessons 1, 3 and 4 (templates/learn/*.html): taken from the template as the
page shows them (values in [data-v] spans, comments from the catalogs), run in a subprocess with this
interpreter, and what they print compared with the API's numbers; at the page's defaults and at others."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates/learn"
CATALOGS = {
    lang: json.loads((ROOT / f"static/i18n/learn.{lang}.json").read_text("utf-8")) for lang in ("en", "zh")
}
BLOCK = re.compile(r'<details class="lesson-code[^"]*" id="learn-code-(\w+)">.*?<code>(.*?)</code>', re.S)


def code_blocks() -> dict[str, str]:
    """lesson id → its code block's HTML."""
    blocks = {}
    for path in TEMPLATES.glob("*.html"):
        blocks.update(BLOCK.findall(path.read_text("utf-8")))
    return blocks


def source(block: str, lang: str = "en", values: dict[str, str] | None = None) -> str:
    """The Python the page shows: comments from the catalog, each [data-v] value as given or as written."""
    values = values or {}
    text = re.sub(r'<span data-i18n="([^"]+)"></span>', lambda m: CATALOGS[lang][m[1]], block)
    text = re.sub(r'<span data-v="(\w+)">([^<]*)</span>', lambda m: values.get(m[1], m[2]), text)
    assert "<" not in text.replace("<=", ""), "markup left in the code"
    return html.unescape(text)


def template_values(block: str) -> dict[str, str]:
    return dict(re.findall(r'<span data-v="(\w+)">([^<]*)</span>', block))


def run(code: str) -> dict[str, str]:
    """Run the code as a learner would, and read back what it prints: {name: value} from "name = value"."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return dict(line.rsplit(" = ", 1) for line in done.stdout.splitlines())


def test_lessons_1_3_and_4_carry_code():
    assert set(code_blocks()) == {"gradient", "chain", "backprop"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_block_is_python_in_both_languages(lang):
    for lesson, block in code_blocks().items():
        compile(source(block, lang), f"<lesson {lesson}, {lang}>", "exec")


def test_the_code_starts_from_the_forms_defaults():
    """The values written in the template's code are the ones its form opens with."""
    for lesson, block in code_blocks().items():
        page = (TEMPLATES / f"{lesson}.html").read_text("utf-8")
        form = dict(re.findall(r'<input name="(\w+)"[^>]*value="([^"]+)"', page))
        for name, value in template_values(block).items():
            if name in form:
                assert float(value) == float(form[name]), (lesson, name)


@pytest.mark.parametrize(
    "body",
    [{}, {"x": -3.0, "target": 5.0, "lr": 0.6}],
    ids=["tutorial", "other"],
)
def test_lesson_1_code_prints_the_lessons_numbers(client, body):
    """The tutorial's numbers: dJ/dx = −4.0 and x = 2.4 after one step; and the same at other inputs."""
    values = {k: repr(float(v)) for k, v in body.items()}
    printed = run(source(code_blocks()["gradient"], values=values))
    served = client.post("/api/lessons/gradient", json=body).json()
    assert printed == {
        "J(x)": repr(served["loss"]),
        "dJ/dx": repr(served["gradient"]),
        "x after one step": repr(served["next_x"]),
        "J after one step": repr(served["next_loss"]),
    }
    if not body:
        assert (printed["dJ/dx"], printed["x after one step"]) == ("-4.0", "2.4")


@pytest.mark.parametrize(
    "body",
    [{}, {"W": -1.25, "b": 0.5, "x": 2.0, "target": -3.0}],
    ids=["tutorial", "other"],
)
def test_lesson_3_code_prints_the_lessons_numbers(client, body):
    """The tutorial's numbers: ∂L/∂W = −18 and ∂L/∂b = −6; and the same at other inputs."""
    values = {k: repr(float(v)) for k, v in body.items()}
    printed = run(source(code_blocks()["chain"], values=values))
    nodes = {n["id"]: n for n in client.post("/api/lessons/chain", json=body).json()["nodes"]}
    assert printed == {
        "L": repr(nodes["L"]["value"]),
        "dL/dW": repr(nodes["W"]["grad"]),
        "dL/db": repr(nodes["b"]["grad"]),
        "dL/dx": repr(nodes["x"]["grad"]),
    }
    if not body:
        assert (printed["dL/dW"], printed["dL/db"]) == ("-18.0", "-6.0")


@pytest.mark.parametrize(
    "body",
    [{}, {"activation": "relu", "depth": 8, "seed": 3}],
    ids=["defaults", "relu-dead-layer"],
)
def test_lesson_4_code_prints_the_lessons_numbers(client, body):
    served = client.post("/api/lessons/backprop", json=body).json()
    depth = len(served["layers"])
    values = {
        "seed": str(body.get("seed", 0)),
        "act": f"torch.{served['activation']}",
        "sizes": repr([2] + [3] * (depth - 1) + [1]),
    }
    printed = run(source(code_blocks()["backprop"], values=values))
    expected = {"y_hat": served["prediction"], "L": served["loss"]}
    expected |= {f"layer {layer['layer']}: |dL/dW|": layer["weight_grad_norm"] for layer in served["layers"]}
    assert set(printed) == set(expected)
    for name, value in expected.items():
        # six significant digits, as the code prints them (the server's recursion and autograd agree
        # to ~1e-15)
        assert printed[name] == format(value, ".6g"), name
