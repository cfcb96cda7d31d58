"""Every optimizer kernel against torch.optim itself, the oracle for every number; and every registered
optimizer complete: its page defaults, its strings in every language, the terms it explains."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from app.descent.engine import Engine
from app.descent.objective import FunctionObjective
from app.descent.optimizers import HYPERPARAMETER_MODELS, OPTIMIZERS, get_optimizer
from app.descent.surfaces import SURFACES

# Non-default hyperparameters for each optimizer, exercising every option it has.
CASES: dict[str, list[dict]] = {
    "sgd": [{"lr": 3e-4, "weight_decay": 0.01}],
    "momentum": [
        {"lr": 1e-4, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.01},
        {"lr": 2e-4, "momentum": 0.5},
    ],
    "nesterov": [{"lr": 1e-4, "momentum": 0.85, "weight_decay": 0.001}],
    "adagrad": [
        {"lr": 0.3, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-9, "weight_decay": 0.01}
    ],
    "rmsprop": [
        # centered RMSprop divides by √(E[g²] − E[g]²), a difference that amplifies rounding when the
        # steps are large; at this lr the path is well-conditioned and every bit of the check holds.
        {"lr": 0.0005, "alpha": 0.95, "momentum": 0.3, "centered": True},
        {"lr": 0.002, "alpha": 0.9, "weight_decay": 0.01},
    ],
    "adadelta": [{"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01}],
    "adam": [
        {"lr": 0.02, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.01},
        {"lr": 0.01, "betas": (0.95, 0.9), "eps": 1e-6},
    ],
    "adamw": [{"lr": 0.02, "betas": (0.85, 0.995), "weight_decay": 0.05, "amsgrad": True}],
    "nadam": [
        {"lr": 0.02, "momentum_decay": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.02},
        {"lr": 0.01, "betas": (0.85, 0.99), "weight_decay": 0.01},
    ],
    "radam": [
        {"lr": 0.002, "betas": (0.9, 0.99), "weight_decay": 0.01},
        {"lr": 0.003, "decoupled_weight_decay": True, "weight_decay": 0.1},
    ],
    "adamax": [{"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.01, "eps": 1e-6}],
}
SURFACE_IDS = ["rosenbrock", "ill_conditioned_bowl", "himmelblau", "beale"]
STEPS = 300


def torch_loop(fn, spec, hyperparameters, start, steps):
    """The reference: zero_grad; loss = f(p); loss.backward(); step — on a float64 tensor."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = spec.make_torch_optimizer([p], hyperparameters)
    points = []
    for _ in range(steps):
        points.append(p.detach().numpy().copy())
        opt.zero_grad()
        loss = fn(p[0], p[1])
        loss.backward()
        opt.step()
    points.append(p.detach().numpy().copy())
    return np.array(points), opt


def assert_close(mine: np.ndarray, ref: np.ndarray, scale: float) -> None:
    # 1e-9 relative, with an absolute floor tied to the surface's scale for coordinates near 0.
    np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-12 * scale)


def test_every_optimizer_has_a_case():
    assert set(CASES) == set(OPTIMIZERS)


@functools.cache
def race(surface_id: str) -> tuple[dict, dict]:
    """Every case of every optimizer racing together in one engine: (traces, final points) by run id."""
    surface = SURFACES[surface_id]
    engine = Engine(FunctionObjective(surface.fn))
    for oid, hps in CASES.items():
        for k, hp in enumerate(hps):
            validated = HYPERPARAMETER_MODELS[oid].model_validate(hp).model_dump()
            engine.add(f"{oid}-{k}", oid, validated, surface.default_start)
    traces = engine.run(STEPS)
    return traces, {rid: engine.point(rid) for rid in traces}


@pytest.mark.parametrize("surface_id", SURFACE_IDS)
@pytest.mark.parametrize("oid", list(OPTIMIZERS))
def test_engine_equals_torch_optim_for_every_optimizer(oid, surface_id):
    """All optimizers race together in one engine; each path equals its own torch.optim loop."""
    assert CASES.get(oid), f"{oid} has no torch.optim equality case in CASES"
    surface = SURFACES[surface_id]
    traces, finals = race(surface_id)
    span = max(np.ptp(surface.x_range), np.ptp(surface.y_range))
    for k, hp in enumerate(CASES[oid]):
        rid = f"{oid}-{k}"
        ref, _ = torch_loop(surface.fn, get_optimizer(oid), hp, surface.default_start, STEPS)
        assert traces[rid].diverged_at is None, (rid, traces[rid].divergence)
        mine = np.concatenate([traces[rid].points, finals[rid][None]])
        assert mine.shape == ref.shape
        assert_close(mine, ref, span)
        assert np.abs(ref[-1] - ref[0]).max() > 1e-3, f"{rid} barely moved: the case tests nothing"


@pytest.mark.parametrize("oid", list(OPTIMIZERS))
def test_exposed_state_equals_torch_state(oid):
    """The state the views show (momentum buffer, moments, step) is torch.optim's own state."""
    surface = SURFACES["rosenbrock"]
    hp = CASES[oid][0]
    engine = Engine(FunctionObjective(surface.fn))
    engine.add("r", oid, hp, surface.default_start)
    traces = engine.run(40)
    _, opt = torch_loop(surface.fn, get_optimizer(oid), hp, surface.default_start, 40)
    mine = engine.state_of("r")
    assert set(mine) == set(get_optimizer(oid).state_names)
    if not mine:  # plain SGD keeps no state, and neither does torch
        assert not any(opt.state.values())
        return
    torch_state = next(iter(opt.state.values()))
    for name, value in mine.items():
        expected = torch_state[name].detach().double().numpy().reshape(-1)
        np.testing.assert_allclose(value.reshape(-1), expected, rtol=1e-9, atol=1e-15, err_msg=name)
        # The per-step record ends with the same state.
        np.testing.assert_allclose(traces["r"].state[name][-1].reshape(-1), expected, rtol=1e-9, atol=1e-15)


def test_per_runner_hyperparameters_in_one_block_equal_separate_runs():
    """Runners of one optimizer with different settings step together, each as if alone."""
    surface = SURFACES["ill_conditioned_bowl"]
    settings = [
        {"lr": 0.01, "betas": (0.9, 0.999), "amsgrad": False},
        {"lr": 0.05, "betas": (0.5, 0.9), "amsgrad": True},
        {"lr": 0.002, "betas": (0.99, 0.9999), "amsgrad": False, "weight_decay": 0.1},
    ]
    engine = Engine(FunctionObjective(surface.fn))
    for k, hp in enumerate(settings):
        engine.add(str(k), "adam", hp, (3.0 - k, 1.0 + k * 0.2))
    traces = engine.run(200)
    for k, hp in enumerate(settings):
        ref, _ = torch_loop(surface.fn, get_optimizer("adam"), hp, (3.0 - k, 1.0 + k * 0.2), 200)
        assert_close(traces[str(k)].points, ref[:-1], 10.0)


def test_hyperparameter_change_mid_run_keeps_state_like_torch():
    """Changing lr and momentum between steps equals editing torch's param_group: no state reset."""
    surface = SURFACES["rosenbrock"]
    engine = Engine(FunctionObjective(surface.fn))
    first = {"lr": 1e-4, "momentum": 0.9}
    second = {"lr": 5e-4, "momentum": 0.5, "dampening": 0.2}
    engine.add("r", "momentum", first, surface.default_start)
    a = engine.run(100)["r"]
    engine.set_hyperparameters("r", {**get_optimizer("momentum").defaults, **second})
    b = engine.run(100)["r"]

    p = torch.tensor(surface.default_start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], **first)
    points = []
    for k in range(200):
        if k == 100:
            opt.param_groups[0].update(second)
        points.append(p.detach().numpy().copy())
        opt.zero_grad()
        surface.fn(p[0], p[1]).backward()
        opt.step()
    assert b.first_step == 100
    assert_close(np.concatenate([a.points, b.points]), np.array(points), 4.0)


def test_switching_optimizer_resets_state_and_keeps_position():
    surface = SURFACES["himmelblau"]
    engine = Engine(FunctionObjective(surface.fn))
    engine.add("r", "momentum", {"lr": 0.001, "momentum": 0.9}, (0.0, 0.0))
    engine.run(20)
    here = engine.point("r")
    engine.set_optimizer("r", "adam", {"lr": 0.05})
    after = engine.run(30)["r"]
    ref, _ = torch_loop(surface.fn, get_optimizer("adam"), {"lr": 0.05}, tuple(here), 30)
    assert_close(after.points, ref[:-1], 10.0)
    assert engine.state_of("r")["step"][0] == 30


# Defaults that differ from torch's on purpose: "momentum" and "nesterov" are SGD with momentum 0.9.
OVERRIDES = {("momentum", "momentum"): 0.9, ("nesterov", "momentum"): 0.9}


def test_registry_lists_torch_defaults():
    """Our defaults are torch.optim's own (read from the constructor signatures)."""
    import inspect

    for spec in OPTIMIZERS.values():
        signature = inspect.signature(spec.torch_class.__init__)
        for hp in spec.hyperparameters:
            expected = OVERRIDES.get((spec.id, hp.name), signature.parameters[hp.name].default)
            assert hp.default == expected, (spec.id, hp.name)


@pytest.mark.parametrize(
    ("oid", "hp", "recompose"),
    [
        ("sgd", {"lr": 3e-4}, lambda t, s, g: t["update"]),
        ("momentum", {"lr": 1e-4, "dampening": 0.2}, lambda t, s, g: t["update"]),
        ("nesterov", {"lr": 1e-4}, lambda t, s, g: t["update"]),
        ("adagrad", {"lr": 0.3, "lr_decay": 0.01}, lambda t, s, g: -t["per_coordinate_lr"] * g),
        ("rmsprop", {"lr": 0.002}, lambda t, s, g: -t["per_coordinate_lr"] * g),
        ("rmsprop", {"lr": 0.001, "centered": True}, lambda t, s, g: -t["per_coordinate_lr"] * g),
        ("adam", {"lr": 0.02}, lambda t, s, g: -t["per_coordinate_lr"] * t["m_hat"]),
        ("adam", {"lr": 0.02, "amsgrad": True}, lambda t, s, g: -t["per_coordinate_lr"] * t["m_hat"]),
        ("adamax", {"lr": 0.02}, lambda t, s, g: -t["per_coordinate_lr"] * s["exp_avg"]),
    ],
)
def test_breakdown_terms_recompose_the_update(oid, hp, recompose):
    """The numbers the breakdown view shows add up to the update the optimizer actually applied."""
    from app.descent.optimizers import explain

    surface = SURFACES["beale"]
    engine = Engine(FunctionObjective(surface.fn))
    engine.add("r", oid, hp, surface.default_start)
    t = engine.run(60)["r"]
    terms = explain(oid, engine.runners["r"].hyperparameters, t.state, t.gradients, t.points)
    np.testing.assert_allclose(recompose(terms, t.state, t.gradients), t.deltas, rtol=1e-10, atol=1e-16)
    if oid == "momentum":  # v = carried + (1 − τ)·g
        np.testing.assert_allclose(
            terms["carried_velocity"] + terms["gradient_part"], t.state["momentum_buffer"]
        )
        np.testing.assert_allclose(
            terms["carried_velocity"][1:], 0.9 * t.state["momentum_buffer"][:-1], rtol=1e-12
        )


def test_breakdown_terms_of_the_others_are_finite_and_named():
    from app.descent.optimizers import explain

    surface = SURFACES["beale"]
    for oid, names in {"nadam": {"v_hat", "denominator"}, "radam": {"m_hat", "rho_t", "rectifier"}}.items():
        engine = Engine(FunctionObjective(surface.fn))
        engine.add("r", oid, {"lr": 0.002}, surface.default_start)
        t = engine.run(20)["r"]
        terms = explain(oid, engine.runners["r"].hyperparameters, t.state, t.gradients, t.points)
        assert set(terms) == names
        assert np.isfinite(terms["rho_t" if oid == "radam" else "v_hat"]).all()
    # RAdam is not rectified while ρₜ ≤ 5 (its first steps): null there, a number after.
    assert np.isnan(terms["rectifier"][0]).all() and np.isfinite(terms["rectifier"][-1]).all()


# --- every registered optimizer is complete: page defaults, strings in every language, its terms ---------

I18N = Path(__file__).resolve().parents[2] / "static/i18n"
CATALOGS = {lang: json.loads((I18N / f"{lang}.json").read_text("utf-8")) for lang in ("en", "zh")}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("oid", list(OPTIMIZERS))
def test_every_optimizer_has_its_page_defaults(oid):
    spec = OPTIMIZERS[oid]
    lr = next(hp for hp in spec.hyperparameters if hp.name == "lr")
    for value in (spec.cnn_lr, spec.race_lr):
        if value is not None:
            assert isinstance(value, float) and lr.low < value <= lr.high, (oid, value)
    assert spec.race_lr is not None or spec.torch_class is torch.optim.SGD, (
        "only plain SGD steps scale with |∇J|"
    )
    assert isinstance(spec.add_rank, int) and not isinstance(spec.add_rank, bool)


def test_add_ranks_order_every_optimizer_once():
    assert sorted(spec.add_rank for spec in OPTIMIZERS.values()) == list(range(len(OPTIMIZERS)))


@pytest.mark.parametrize("lang", list(CATALOGS))
@pytest.mark.parametrize("oid", list(OPTIMIZERS))
def test_every_optimizer_string_the_page_shows_is_translated(oid, lang):
    """What the page looks up per optimizer (the race cards, the breakdown, the CNN trainer form):
    its name, short name and summary; each hyperparameter's meaning (its own key or the shared one); each
    state and term name with its title. English says what the server says; Chinese is Chinese."""
    catalog, spec = CATALOGS[lang], OPTIMIZERS[oid]
    shown = [("state", name) for name in spec.state_names] + [("term", name) for name in spec.term_names]
    keys = [f"optimizer.{oid}.{part}" for part in ("name", "short", "summary")]
    keys += [f"{kind}.{name}{suffix}" for kind, name in shown for suffix in ("", ".title")]
    meanings = {
        hp.name: catalog.get(f"hp.{oid}.{hp.name}", catalog.get(f"hp.{hp.name}"))
        for hp in spec.hyperparameters
    }
    missing = [key for key in keys if not catalog.get(key)]
    missing += [f"hp.{name}" for name, text in meanings.items() if not text]
    assert missing == [], f"{oid}: no {lang} text for {missing}"
    if lang == "en":
        assert catalog[f"optimizer.{oid}.name"] == spec.name
        assert catalog[f"optimizer.{oid}.summary"] == spec.summary
        assert meanings == {hp.name: hp.meaning for hp in spec.hyperparameters}
    else:
        texts = [catalog[f"optimizer.{oid}.summary"], *meanings.values()]
        texts += [catalog[f"{kind}.{name}.title"] for kind, name in shown]
        assert [text for text in texts if not CHINESE.search(text)] == [], oid


@pytest.mark.parametrize("oid", list(OPTIMIZERS))
def test_term_names_are_the_terms_explain_returns(oid):
    """term_names (what the catalogs must translate) lists exactly the terms the breakdown receives."""
    from app.descent.optimizers import explain

    surface = SURFACES["beale"]
    seen: set[str] = set()
    for hp in CASES[oid]:
        engine = Engine(FunctionObjective(surface.fn))
        engine.add("r", oid, hp, surface.default_start)
        t = engine.run(20)["r"]
        seen |= set(explain(oid, engine.runners["r"].hyperparameters, t.state, t.gradients, t.points))
    assert seen == set(OPTIMIZERS[oid].term_names)
