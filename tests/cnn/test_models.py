from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from app.cnn.data import load_digits_split
from app.cnn.models import ConvBlock, ModelConfig, build_model, describe, parameter_count


def test_default_cnn_layers_have_stable_names_and_shapes():
    model = build_model(ModelConfig())
    info = describe(model)
    assert [layer.name for layer in info] == [
        "conv1", "act1", "pool1", "conv2", "act2", "pool2", "flatten", "fc3", "act3", "out",
    ]  # fmt: skip
    assert [layer.kind for layer in info][:3] == ["conv", "activation", "pool"]
    assert info[0].output_shape == [16, 8, 8] and info[3].output_shape == [32, 4, 4]
    assert info[6].output_shape == [128] and info[-1].output_shape == [10]
    assert info[0].detail == "1→16, 3×3" and info[2].detail == "max 2×2"
    assert [(p.name, p.shape) for p in info[0].parameters] == [
        ("conv1.weight", [16, 1, 3, 3]),
        ("conv1.bias", [16]),
    ]
    assert parameter_count(model) == 16 * 9 + 16 + 32 * 16 * 9 + 32 + 128 * 64 + 64 + 64 * 10 + 10


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(),
        ModelConfig(blocks=[ConvBlock(channels=4, kernel=5, pool="avg")] * 3, batch_norm=True, dropout=0.5),
        ModelConfig(blocks=[ConvBlock(channels=8, kernel=1, pool="none")], depth=3, activation="gelu"),
        ModelConfig(kind="mlp", depth=8, width=32, activation="sigmoid", batch_norm=True),
    ],
)
def test_describe_matches_a_real_forward_pass(config):
    model = build_model(config).eval()
    x = load_digits_split().x_val[:5]
    info = {layer.name: layer for layer in describe(model)}
    for name, module in model.named_children():
        x = module(x)
        assert list(x.shape[1:]) == info[name].output_shape, name
    assert x.shape == (5, 10)
    assert sum(math.prod(p.shape) for layer in info.values() for p in layer.parameters) == parameter_count(
        model
    )


def test_mlp_names():
    names = [
        name
        for name, _ in build_model(
            ModelConfig(kind="mlp", depth=2, batch_norm=True, dropout=0.1)
        ).named_children()
    ]
    assert names == ["flatten", "fc1", "bn1", "act1", "drop1", "fc2", "bn2", "act2", "drop2", "out"]


def test_weights_come_from_the_seed_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    a, b = build_model(ModelConfig(seed=5)), build_model(ModelConfig(seed=5))
    c = build_model(ModelConfig(seed=6))
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_inits():
    def weight_std(init: str) -> float:
        return float(build_model(ModelConfig(init=init)).conv2.weight.detach().std())

    assert weight_std("too_small") == pytest.approx(1e-3, rel=0.1)
    assert weight_std("too_large") == pytest.approx(1.0, rel=0.1)
    assert weight_std("kaiming") == pytest.approx(math.sqrt(2 / (16 * 9)), rel=0.1)
    assert weight_std("xavier") == pytest.approx(math.sqrt(2 / (16 * 9 + 32 * 9)), rel=0.1)
    assert weight_std("default") == pytest.approx(1 / math.sqrt(3 * 16 * 9), rel=0.1)
    assert float(build_model(ModelConfig(init="kaiming")).conv2.bias.detach().abs().max()) == 0.0


@pytest.mark.parametrize(
    ("fields", "loc", "kind"),
    [
        ({"kind": "rnn"}, ("kind",), "literal_error"),
        ({"blocks": [{"channels": 64}]}, ("blocks", 0, "channels"), "less_than_equal"),
        ({"blocks": [{"kernel": 2}]}, ("blocks", 0, "kernel"), "literal_error"),
        ({"blocks": [{"pool": "min"}]}, ("blocks", 0, "pool"), "literal_error"),
        ({"blocks": []}, ("blocks",), "too_short"),
        ({"blocks": [{}] * 4}, ("blocks",), "too_long"),
        ({"depth": 9}, ("depth",), "less_than_equal"),
        ({"width": 4}, ("width",), "greater_than_equal"),
        ({"activation": "swish"}, ("activation",), "literal_error"),
        ({"dropout": 0.9}, ("dropout",), "less_than_equal"),
        ({"dropout": float("nan")}, ("dropout",), "finite_number"),
        ({"init": "zeros"}, ("init",), "literal_error"),
        ({"seed": -1}, ("seed",), "greater_than_equal"),
        ({"layers": 3}, ("layers",), "extra_forbidden"),
    ],
)
def test_bad_configs_are_refused_naming_the_field(fields, loc, kind):
    with pytest.raises(ValidationError) as caught:
        ModelConfig.model_validate(fields)
    errors = caught.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [(loc, kind)]


def test_every_config_field_is_documented_and_bounded():
    for model in (ModelConfig, ConvBlock):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"
    assert (
        ModelConfig.model_config["extra"] == "forbid" and ModelConfig.model_config["allow_inf_nan"] is False
    )


def test_dropout_masks_come_from_the_model_seed():
    model = build_model(ModelConfig(kind="mlp", dropout=0.5, seed=1))
    twin = build_model(ModelConfig(kind="mlp", dropout=0.5, seed=1))
    x = torch.ones(200, 64)
    torch.manual_seed(0)
    a = model.drop1(x)
    torch.manual_seed(99)  # the global generator plays no part
    assert torch.equal(twin.drop1(x), a)
    assert set(a.unique().tolist()) == {0.0, 2.0}  # kept units scaled by 1/(1 − p)
    assert float((a == 0).float().mean()) == pytest.approx(0.5, abs=0.02)
    assert torch.equal(model.eval().drop1(x), x)
