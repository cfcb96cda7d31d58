"""The traced-graph cache: least recently used out first, by count and by bytes; one trace per key however
many threads ask, different keys side by side; graphs that leave it leave nothing behind in torch."""

from __future__ import annotations

import linecache
import threading
import time
from dataclasses import dataclass

import pytest
import torch
import torch.fx._symbolic_trace as fx_symbolic_trace
from torch.jit._state import _python_cu

from app.config import Settings
from app.descent import objective
from app.descent.expressions import compile_expression
from app.descent.objective import TRACES, FunctionObjective, TraceCache, _value_and_grad
from app.main import create_app


@dataclass(frozen=True)
class Graph:
    """What the fake tracer makes: the function it traced, and the bytes it says it holds."""

    fn: object
    size: int


class Fn:
    """A surface function the fake tracer knows the size of."""

    def __init__(self, size: int = 100):
        self.size = size

    def __call__(self, x, y):
        return x + y


@pytest.fixture
def traced(monkeypatch):
    """The fake tracer: records each call (fn, thread) and makes a Graph of the function's size at once."""
    calls: list[tuple[object, str]] = []

    def trace(fn):
        calls.append((fn, threading.current_thread().name))
        return Graph(fn, fn.size)

    monkeypatch.setattr(objective, "_trace", trace)
    monkeypatch.setattr(objective, "graph_bytes", lambda graph: graph.size)
    return calls


# --- least recently used, by count and by bytes -------------------------------------------------------------


def test_past_the_count_the_least_recently_used_goes_first(traced):
    cache = TraceCache(entries=3, max_bytes=10**9)
    fns = {key: Fn() for key in "abcd"}
    for key in "abc":
        cache.get(key, fns[key])
    assert cache.get("a", fns["a"]).fn is fns["a"]  # a hit: "a" is now the most recently used
    cache.get("d", fns["d"])
    assert cache.keys() == ["c", "a", "d"] and len(traced) == 4
    cache.get("b", fns["b"])  # evicted, so traced again; "c" goes
    assert cache.keys() == ["a", "d", "b"] and len(traced) == 5
    assert cache.bytes == 300


def test_past_the_bytes_the_least_recently_used_go_first(traced):
    cache = TraceCache(entries=100, max_bytes=1000)
    cache.get("a", Fn(400))
    cache.get("b", Fn(400))
    cache.get("a", Fn(400))
    cache.get("c", Fn(300))  # 1100 bytes: "b", the least recently used, goes
    assert cache.keys() == ["a", "c"] and cache.bytes == 700
    cache.get("d", Fn(900))  # 1600: both older ones go
    assert cache.keys() == ["d"] and cache.bytes == 900


def test_a_graph_larger_than_the_budget_serves_its_asker_and_evicts_nothing(traced):
    cache = TraceCache(entries=100, max_bytes=1000)
    cache.get("a", Fn(400))
    huge = Fn(5000)
    assert cache.get("huge", huge).fn is huge
    assert cache.keys() == ["a"] and cache.bytes == 400


def test_resizing_evicts_at_once(traced):
    cache = TraceCache(entries=10, max_bytes=10**6)
    for key in "abcdef":
        cache.get(key, Fn(100))
    cache.resize(entries=4, max_bytes=10**6)
    assert cache.keys() == ["c", "d", "e", "f"]
    cache.resize(entries=4, max_bytes=250)
    assert cache.keys() == ["e", "f"] and cache.bytes == 200


def test_the_apps_settings_size_the_processes_cache():
    entries, max_bytes = TRACES.entries, TRACES.max_bytes
    try:
        create_app(Settings(trace_cache_entries=7, trace_cache_bytes=3 * 2**20))
        assert (TRACES.entries, TRACES.max_bytes) == (7, 3 * 2**20)
    finally:
        TRACES.resize(entries, max_bytes)


# --- threads ------------------------------------------------------------------------------------------------


def test_threads_asking_for_one_key_trace_it_once(monkeypatch):
    calls, release = [], threading.Event()

    def slow(fn):
        calls.append(fn)
        release.wait(5)  # every asker arrives while the first one traces
        return Graph(fn, 100)

    monkeypatch.setattr(objective, "_trace", slow)
    monkeypatch.setattr(objective, "graph_bytes", lambda graph: graph.size)
    cache, fn = TraceCache(), Fn()
    got: list[Graph] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("k", fn))) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # the other three are waiting now
    release.set()
    for thread in threads:
        thread.join(5)
    assert len(calls) == 1 and len(got) == 4 and all(graph is got[0] for graph in got)


def test_different_keys_trace_side_by_side_and_a_held_key_waits_for_none(monkeypatch):
    together = threading.Barrier(3, timeout=5)  # broken (an error) unless three traces run at once

    def meeting(fn):
        together.wait()
        return Graph(fn, 100)

    monkeypatch.setattr(objective, "graph_bytes", lambda graph: graph.size)
    cache = TraceCache()
    monkeypatch.setattr(objective, "_trace", lambda fn: Graph(fn, 100))
    cache.get("held", Fn())
    monkeypatch.setattr(objective, "_trace", meeting)
    errors: list[BaseException] = []

    def ask(key: str) -> None:
        try:
            cache.get(key, Fn())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(key,)) for key in ("a", "b")]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    assert cache.get("held", Fn()).size == 100  # two traces in flight: a held key is answered at once
    assert time.monotonic() - began < 0.5
    together.wait()  # the third at the meeting: only possible if "a" and "b" trace at the same time
    for thread in threads:
        thread.join(5)
    assert errors == [] and set(cache.keys()) == {"held", "a", "b"}


def test_a_failed_trace_is_shared_by_those_waiting_and_not_kept(monkeypatch):
    release, calls = threading.Event(), []

    def failing(fn):
        calls.append(fn)
        release.wait(5)
        raise RuntimeError("cannot record this")

    monkeypatch.setattr(objective, "_trace", failing)
    cache, fn = TraceCache(), Fn()
    outcomes: list[str] = []

    def ask() -> None:
        try:
            cache.get("k", fn)
        except RuntimeError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join(5)
    assert outcomes == ["cannot record this"] * 3 and len(calls) == 1
    assert cache.keys() == []
    with pytest.raises(RuntimeError):
        cache.get("k", fn)  # not kept: asked again, traced again
    assert len(calls) == 2


# --- real traces --------------------------------------------------------------------------------------------


def _unique(k: int) -> str:
    return f"sin(x*{k}.{time.time_ns() % 10**9}) + y^2*cos(x) + tanh(y - {k})"


def test_real_traces_in_threads_are_exact_and_leave_torch_as_it_was():
    """torch.fx patches nn.Module while it records: recordings in threads take turns (_RECORDING)."""
    module_call, module_getattr = torch.nn.Module.__call__, torch.nn.Module.__getattr__
    cache = TraceCache()
    texts = [_unique(k) for k in range(6)]
    errors: list[BaseException] = []

    def trace(batch: list[str]) -> None:
        try:
            for text in batch:
                cache.get(text, compile_expression(text).fn)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=trace, args=(texts[k::3],)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert torch.nn.Module.__call__ is module_call and torch.nn.Module.__getattr__ is module_getattr
    assert fx_symbolic_trace.CURRENT_PATCHER is None
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    y = torch.linspace(2, -2, 7, dtype=torch.float64)
    for text in texts:
        graph = cache.get(text, compile_expression(text).fn)
        eager = _value_and_grad(compile_expression(text).fn)(x, y)
        assert all(torch.equal(a, b) for a, b in zip(graph(x, y), eager, strict=True)), text


def test_a_graph_that_leaves_the_cache_leaves_nothing_behind_in_torch():
    """Its TorchScript function is in a compilation unit of its own (not the process's), and the source
    torch.fx wrote for it is out of the line cache."""
    cache = TraceCache(entries=1)
    cache.get("warm", compile_expression(_unique(0)).fn)  # the process's first trace sets torch up
    functions, lines = len(_python_cu.get_functions()), len(linecache.cache)
    for k in range(1, 4):
        cache.get(f"k{k}", compile_expression(_unique(k)).fn)
    assert cache.keys() == ["k3"]
    assert len(_python_cu.get_functions()) == functions
    assert len(linecache.cache) == lines


def test_the_byte_estimate_counts_the_graphs_nodes():
    graph = objective._trace(compile_expression("x^2 + y^2").fn)
    nodes = sum(1 for _ in graph.graph.nodes())
    assert 10 < nodes < 40
    assert objective.graph_bytes(graph) == objective.GRAPH_BYTES + objective.NODE_BYTES * nodes


def test_warming_an_objective_traces_its_key_and_its_first_pass_finds_it():
    key = f"expr:test-warm-{time.time_ns()}"
    fn = compile_expression("x^2 + 3*sin(y)").fn
    first = FunctionObjective(fn, key=key)
    assert not first.traced
    first.warm()
    assert first.traced and key in TRACES
    second = FunctionObjective(fn, key=key)
    x, y = torch.linspace(-1, 1, 5, dtype=torch.float64).numpy(), torch.zeros(5, dtype=torch.float64).numpy()
    second.value_and_grad(x, y)
    assert second._fast is TRACES.get(key, fn)
