"""Every setting and limit of the server, read from GDVIZ_* environment variables.

Each field carries its unit and the reason for its default; tests/test_config.py checks that every field is
documented in the README's configuration table.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GDVIZ_", extra="ignore")

    # --- serving ---
    host: str = Field("127.0.0.1", description="interface to listen on; 0.0.0.0 inside a container")
    port: int = Field(8000, ge=1, le=65535, description="TCP port")
    workers: int = Field(
        1, ge=1, le=64, description="uvicorn worker processes (sessions live in one process)"
    )
    log_level: str = Field("info", description="uvicorn log level")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="extra origins (scheme://host:port) allowed to open the WebSocket besides the page's own",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="proxies (addresses or CIDR networks, comma-separated; default: one on this host) whose "
        "X-Forwarded-For names the client; per-client limits count that address, so behind a proxy not "
        "listed every page is one client",
    )

    # --- REST limits ---
    max_steps: int = Field(20_000, ge=1, description="steps per trajectory request; ~2 s of compute at most")
    max_grid: int = Field(
        300, ge=10, description="grid points per axis for a surface plot; 300² = 90 k values"
    )
    default_grid: int = Field(120, ge=10, description="grid points per axis when the request does not say")
    max_basin_n: int = Field(200, ge=2, description="starts per axis for a basin map (200² = 40 000 runners)")
    max_work: int = Field(
        200_000_000,
        ge=10_000,
        description="sample-evaluations per request (a sample's loss at one point, 13-29 ns; a built-in "
        "runner-step counts 6, a tick 6000: app/descent/cost.py); ~2 s of one core, the issue's grid of "
        "300² points × 2000 samples fits; a live race may ask for this much per 2 s",
    )
    max_request_bytes: int = Field(
        256_000_000,
        ge=32_000_000,
        description="bytes one request may hold at its peak; grids and maps are evaluated in chunks to stay "
        "under it (a replica has 2 GiB)",
    )
    max_coordinate: float = Field(1e6, gt=0, description="largest |x| or |y| accepted for a start point")
    divergence_bound: float = Field(
        1e8, gt=0, description="a runner whose |θᵢ| passes this counts as diverged (beside non-finite values)"
    )
    rest_workers: int = Field(
        1,
        ge=1,
        le=64,
        description="REST requests computing at once (threads); each holds the GIL for much of its work, "
        "so more share one core and slow the live frame loop more (bench/rest_pool.py)",
    )
    rest_queue: int = Field(
        8,
        ge=0,
        description="REST requests waiting for a compute thread, past which they are refused (429); 8 of "
        "the largest (~2 s each) are done within ~20 s, well inside the proxy's 60 s timeout",
    )

    # --- custom expressions ---
    expression_max_length: int = Field(300, ge=10, description="characters in a custom f(x, y)")
    expression_max_nodes: int = Field(200, ge=10, description="syntax tree nodes in a custom f(x, y)")
    expression_max_depth: int = Field(40, ge=5, description="syntax tree depth in a custom f(x, y)")
    expression_max_exponent: float = Field(64.0, gt=0, description="largest |constant exponent| in **")
    trace_cache_entries: int = Field(
        128,
        ge=1,
        description="traced autograd graphs kept in the process (the 17 built-in surfaces and recent "
        "expressions), least recently used out first; a graph not kept is traced again (0.1-3 s)",
    )
    trace_cache_bytes: int = Field(
        64 * 2**20,
        ge=2**20,
        description="bytes those graphs may hold (estimated, 32 KiB + 6 KiB a graph node: 0.3-3.6 MB each); "
        "the built-ins take ~7 MB, the rest holds 16 of the largest expressions or ~150 small ones",
    )

    # --- live sessions ---
    max_runners: int = Field(8, ge=1, le=64, description="runners in one session's race")
    max_speed: float = Field(
        100_000.0, gt=0, description="steps per second a page may ask for; beyond what fits, it runs flat out"
    )
    frame_rate: float = Field(30.0, gt=0, le=120, description="frames per second sent to a page")
    max_frames_per_second: float = Field(
        1200.0,
        gt=0,
        description="frames per second for all pages together; past it each page gets fewer, fuller frames",
    )
    ws_compression: bool = Field(
        True, description="permessage-deflate on sockets: ~2x less traffic, ~10 % more server CPU"
    )
    max_history: int = Field(
        100_000, ge=100, description="steps a session runs before it pauses itself (the page keeps the trail)"
    )
    ws_max_message_bytes: int = Field(65_536, ge=1024, description="largest WebSocket message accepted")
    max_trainings: int = Field(
        4, ge=1, le=64, description="CNN trainings stepping at once; the rest wait in line (2 cores: ~2 each)"
    )
    max_landscapes: int = Field(
        1, ge=1, le=64, description="loss landscapes computed at once; the rest wait (each ~4-8 s of CPU)"
    )
    landscape_snapshot_bytes: int = Field(
        16 * 2**20,
        ge=2**20,
        description="bytes of weight snapshots a training keeps for its landscape path (thinned when full)",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="where CNNs train: auto takes CUDA when torch sees a GPU, else the CPU"
    )
    ws_messages_per_second: float = Field(
        60.0,
        gt=0,
        description="client messages per second per socket (bursts of twice that); a slider sends ~30",
    )
    max_sessions: int = Field(400, ge=1, description="live sessions in one process, attached or detached")
    max_sessions_per_client: int = Field(
        20, ge=1, description="live sessions from one client address (a classroom behind one NAT needs more)"
    )
    session_ttl: float = Field(
        60.0, ge=0, description="seconds a session whose socket dropped waits for its page to reconnect"
    )
    max_outbox_steps: int = Field(
        50_000,
        ge=100,
        description="runner-steps computed but not yet sent before a session waits for its socket",
    )
    replay_bytes: int = Field(
        1_000_000,
        ge=0,
        description="bytes of recent frames kept per session, replayed to a page that reconnects",
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        # uvicorn takes anything it cannot parse (a typo, 10.0.0.1/8 with host bits set, a * among others)
        # for a literal that never matches: it would trust no one, silently.
        items = [part.strip() for part in value.split(",")]
        if items == ["*"]:
            return "*"  # trust every peer: only when nothing but the proxy can reach the app
        for item in items:
            try:
                if "/" in item:
                    ipaddress.ip_network(item)
                else:
                    ipaddress.ip_address(item)
            except ValueError:
                raise ValueError(
                    f"expected IP addresses or CIDR networks separated by commas, or * alone; got {item!r}"
                ) from None
        return ",".join(items)


@lru_cache
def get_settings() -> Settings:
    return Settings()
