"""What routes depend on: the settings of the app that serves them, JSON bodies validated with those, and
the app's bounded pool for requests that compute.

FastAPI validates a body without pydantic's context, so a body whose limits come from the settings is taken
as it arrives (parsed as JSON by FastAPI, documented with its model's schema, so the OpenAPI document shows
it as before), then validated here with ``context={"settings": ...}``: the same errors under "body", the
same answer in the one error shape.
"""

# No `from __future__ import annotations`: json_body's parameter annotations are built at run time.

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from fastapi import Body, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import PlainValidator, TypeAdapter, ValidationError

from app.api.compute import ComputePool
from app.config import Settings


async def settings_dep(request: Request) -> Settings:
    """The settings create_app() was given: every limit of a request comes from here, not the environment."""
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(settings_dep)]


async def compute_dep(request: Request) -> Callable[[Callable[[], Response]], Awaitable[Response]]:
    """``await compute(work)``: the answer ``work`` builds, computed in the app's pool (app/api/compute.py)
    once there is room, or a 429 when its line is full; timed and measured under the route's path."""
    pool: ComputePool = request.app.state.compute
    return partial(pool.respond, request.scope["route"].path)


Compute = Annotated[Callable[[Callable[[], Response]], Awaitable[Response]], Depends(compute_dep)]


def _as_is(value: Any) -> Any:
    return value


def json_body(model: Any) -> Any:
    """Depends(...) on the request's JSON body validated as ``model`` with the app's settings."""
    adapter = TypeAdapter(model)
    # what FastAPI parses: any JSON, documented as the model
    Raw = Annotated[Any, PlainValidator(_as_is, json_schema_input_type=model), Body()]

    async def parse(body: Raw, settings: AppSettings) -> Any:
        try:
            # as FastAPI validates a body (from_attributes), and with the settings in context
            return adapter.validate_python(body, from_attributes=True, context={"settings": settings})
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            raise RequestValidationError(errors, body=body) from None

    return Depends(parse)
