"""The networks a page can configure: a small CNN or an MLP for 8×8 digits, built with stable layer names.

Layers are numbered by the weight layer they belong to, so a block reads as one number: ``conv1``,
``bn1``, ``act1``, ``pool1``, ``conv2``, ..., ``flatten``, ``fc3``, ``act3``, ``drop3``, ``out``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from app.cnn.data import IMAGE_SIZE, N_CLASSES

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)

Activation = Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu"]
Init = Literal["default", "xavier", "kaiming", "too_small", "too_large"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,  # negative slope 0.01
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}
# std of the deliberately bad initializations, N(0, std²) for every weight (biases 0). In the default CNN,
# 1e-3 shrinks the signal 50–100× per layer (the logits' std ends near 1e-9: it vanishes) and 1 grows it
# ~12× per layer (it explodes, or saturates tanh and sigmoid).
TOO_SMALL_STD = 1e-3
TOO_LARGE_STD = 1.0


class ConvBlock(BaseModel):
    """One convolution (stride 1, 'same' padding), then batch norm if on, the activation, a 2×2 pooling."""

    model_config = INPUT
    channels: int = Field(16, ge=1, le=32, description="output channels (filters)")
    kernel: Literal[1, 3, 5] = Field(3, description="kernel side, in pixels")
    pool: Literal["none", "max", "avg"] = Field("max", description="2×2 pooling after the activation")


class ModelConfig(BaseModel):
    """The network to train, as the page sends it."""

    model_config = INPUT
    kind: Literal["cnn", "mlp"] = Field("cnn", description="convolutional blocks first (cnn) or none (mlp)")
    blocks: list[ConvBlock] = Field(
        default_factory=lambda: [ConvBlock(channels=16), ConvBlock(channels=32)],
        min_length=1,
        max_length=3,
        description="cnn only: the convolutional blocks, in order",
    )
    depth: int = Field(1, ge=1, le=8, description="hidden dense layers, after the blocks (cnn) or the pixels")
    width: int = Field(64, ge=8, le=256, description="units per hidden dense layer")
    activation: Activation = Field("relu", description="nonlinearity after every conv and hidden layer")
    batch_norm: bool = Field(
        False, description="batch norm between each conv/hidden layer and its activation"
    )
    dropout: float = Field(
        0.0, ge=0.0, le=0.8, description="dropout probability after each hidden activation"
    )
    init: Init = Field(
        "default",
        description="weights: PyTorch's default, xavier, kaiming, too_small N(0, 0.001²), too_large N(0, 1)",
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seeds the initial weights and the dropout masks")


@dataclass
class ParameterInfo:
    name: Annotated[str, Field(description="e.g. conv1.weight")]
    shape: list[int]


@dataclass
class LayerInfo:
    """One layer of the network diagram."""

    name: Annotated[str, Field(description="stable, e.g. conv1, bn1, act1, pool1, flatten, fc3, drop3, out")]
    kind: Annotated[str, Field(description="conv, batch_norm, activation, pool, flatten, linear or dropout")]
    detail: Annotated[str, Field(description="e.g. '1→16, 3×3' or 'relu'")]
    output_shape: Annotated[list[int], Field(description="for one 8×8 input: [C, H, W] or [features]")]
    parameters: list[ParameterInfo]


class SeededDropout(nn.Dropout):
    """nn.Dropout drawing its masks from its own generator: a network's masks follow its seed, whatever
    else draws from torch's global generator meanwhile (another trainer, in another thread)."""

    def __init__(self, p: float, seed: int) -> None:
        super().__init__(p)
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep / (1.0 - self.p)  # as F.dropout: the kept units scaled by 1/(1 − p)


def _conv_block(
    index: int, in_channels: int, block: ConvBlock, config: ModelConfig
) -> list[tuple[str, nn.Module]]:
    layers: list[tuple[str, nn.Module]] = [
        (f"conv{index}", nn.Conv2d(in_channels, block.channels, block.kernel, padding=block.kernel // 2))
    ]
    if config.batch_norm:
        layers.append((f"bn{index}", nn.BatchNorm2d(block.channels)))
    layers.append((f"act{index}", ACTIVATIONS[config.activation]()))
    if block.pool != "none":
        layers.append((f"pool{index}", nn.MaxPool2d(2) if block.pool == "max" else nn.AvgPool2d(2)))
    return layers


def _dense_block(index: int, in_features: int, config: ModelConfig) -> list[tuple[str, nn.Module]]:
    layers: list[tuple[str, nn.Module]] = [(f"fc{index}", nn.Linear(in_features, config.width))]
    if config.batch_norm:
        layers.append((f"bn{index}", nn.BatchNorm1d(config.width)))
    layers.append((f"act{index}", ACTIVATIONS[config.activation]()))
    if config.dropout > 0:
        layers.append((f"drop{index}", SeededDropout(config.dropout, seed=config.seed * 16 + index)))
    return layers


def _gain_name(activation: str) -> str:
    # GELU has no entry in torch's gain table; it behaves like ReLU for positive inputs.
    return "relu" if activation == "gelu" else activation


@torch.no_grad()
def initialize(model: nn.Module, init: str, activation: str) -> None:
    """Re-initialize every conv and linear layer; 'default' keeps PyTorch's (uniform, ±1/√fan_in)."""
    if init == "default":
        return
    nonlinearity = _gain_name(activation)
    for module in model.modules():
        if not isinstance(module, nn.Conv2d | nn.Linear):
            continue
        w = module.weight
        if init == "xavier":  # Glorot & Bengio: Var(w) = 2/(fan_in + fan_out)
            nn.init.xavier_normal_(w)
        elif init == "kaiming":  # He et al.: Var(w) = gain²/fan_in
            nn.init.kaiming_normal_(w, nonlinearity=nonlinearity)
        else:
            nn.init.normal_(w, 0.0, TOO_SMALL_STD if init == "too_small" else TOO_LARGE_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def build_model(config: ModelConfig) -> nn.Sequential:
    """The network for config, its initial weights drawn from config.seed (the global RNG is untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = nn.Sequential(OrderedDict(_layers(config)))  # each layer draws its weights as it is made
        initialize(model, config.init, config.activation)
    return model


def _layers(config: ModelConfig) -> list[tuple[str, nn.Module]]:
    layers: list[tuple[str, nn.Module]] = []
    index, channels, side = 0, 1, IMAGE_SIZE
    if config.kind == "cnn":
        for block in config.blocks:
            index += 1
            layers += _conv_block(index, channels, block, config)
            channels = block.channels
            side = side // 2 if block.pool != "none" else side
    layers.append(("flatten", nn.Flatten()))
    features = channels * side * side
    for _ in range(config.depth):
        index += 1
        layers += _dense_block(index, features, config)
        features = config.width
    layers.append(("out", nn.Linear(features, N_CLASSES)))
    return layers


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_kind(module: nn.Module) -> str:
    for types, kind in _KINDS:
        if isinstance(module, types):
            return kind
    return type(module).__name__.lower()


_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (nn.Conv2d, "conv"),
    (nn.Linear, "linear"),
    ((nn.BatchNorm1d, nn.BatchNorm2d), "batch_norm"),
    (tuple(ACTIVATIONS.values()), "activation"),
    ((nn.MaxPool2d, nn.AvgPool2d), "pool"),
    (nn.Flatten, "flatten"),
    (nn.Dropout, "dropout"),
)
_ACTIVATION_NAMES = {cls: name for name, cls in ACTIVATIONS.items()}


def _detail(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0]
        return f"{module.in_channels}→{module.out_channels}, {k}×{k}"
    if isinstance(module, nn.Linear):
        return f"{module.in_features}→{module.out_features}"
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        return ("max" if isinstance(module, nn.MaxPool2d) else "avg") + " 2×2"
    if isinstance(module, nn.Dropout):
        return f"p = {module.p:g}"
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        return f"{module.num_features} features"
    return _ACTIVATION_NAMES.get(type(module), "")


@torch.no_grad()
def describe(model: nn.Sequential) -> list[LayerInfo]:
    """Each layer's name, kind, output shape for one 8×8 input, and parameters, for the network diagram."""
    was_training = model.training
    model.eval()  # batch norm in training mode refuses a batch of one
    x = torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE)
    info = []
    for name, module in model.named_children():
        x = module(x)
        info.append(
            LayerInfo(
                name=name,
                kind=layer_kind(module),
                detail=_detail(module),
                output_shape=list(x.shape[1:]),
                parameters=[
                    ParameterInfo(name=f"{name}.{p_name}", shape=list(p.shape))
                    for p_name, p in module.named_parameters()
                ],
            )
        )
    model.train(was_training)
    return info
