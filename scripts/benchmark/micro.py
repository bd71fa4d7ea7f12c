"""In-process timings of the pure translation steps, to compare JSON parsers and see per-chunk cost.

These need no server: each step runs in a loop and the best of a few repeats is kept, in µs per call.
A step whose API moved on is reported as missing rather than failing the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from . import bodies


def _best_us(fn: Callable[[], object], min_seconds: float = 0.2, repeats: int = 3) -> float:
    fn()
    count, spent = 1, 0.0
    while spent < min_seconds / repeats:  # find a loop count that takes a measurable time
        count *= 2
        started = time.perf_counter()
        for _ in range(count):
            fn()
        spent = time.perf_counter() - started
    best = spent
    for _ in range(repeats - 1):
        started = time.perf_counter()
        for _ in range(count):
            fn()
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def parsers(sizes: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Body -> validated ChatRequest, four ways, per size (µs)."""
    from pydantic_core import from_json

    from translators.openai_types import ChatRequest

    ways: dict[str, Callable[[bytes], object]] = {
        "json.loads + model_validate": lambda b: ChatRequest.model_validate(json.loads(b)),
        "pydantic_core.from_json + model_validate": lambda b: ChatRequest.model_validate(from_json(b)),
        "model_validate_json": lambda b: ChatRequest.model_validate_json(b),
    }
    try:
        import orjson

        ways["orjson.loads + model_validate"] = lambda b: ChatRequest.model_validate(orjson.loads(b))
    except ImportError:
        pass
    out: dict[str, dict[str, float]] = {}
    for size in sizes:
        raw = bodies.build(size).openai
        out[size] = {name: _best_us(lambda way=way: way(raw)) for name, way in ways.items()}
    return out


def request_path(sizes: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """The whole request-side translation, step by step (µs)."""
    from translators.context import TranslationOptions
    from translators.models import resolve_model
    from translators.request import parse_request, to_vertex

    out: dict[str, dict[str, float]] = {}
    for size in sizes:
        raw = bodies.build(size).openai
        req = parse_request(raw)
        target = resolve_model(req.model, {})
        call = to_vertex(req, target, TranslationOptions())
        steps = {
            "parse_request": _best_us(lambda: parse_request(raw)),
            "to_vertex": _best_us(lambda: to_vertex(req, target, TranslationOptions())),
            "json.dumps (Vertex body)": _best_us(
                lambda: json.dumps(call.body, separators=(",", ":"), ensure_ascii=False).encode()),
        }
        from pydantic_core import to_json

        steps["pydantic_core.to_json (Vertex body)"] = _best_us(lambda: to_json(call.body))
        try:
            import orjson

            steps["orjson.dumps (Vertex body)"] = _best_us(lambda: orjson.dumps(call.body))
        except ImportError:
            pass
        out[size] = steps
    return out


def reply_path() -> dict[str, float]:
    """Reply-side costs (µs): a unary reply, and one streamed chunk through the stream translator."""
    from translators.context import ResponseContext
    from translators.response import to_openai_response
    from translators.stream import StreamTranslator

    event = {"candidates": [{"content": {"role": "model", "parts": [{"text": "ok "}]}}],
             "usageMetadata": {"trafficType": "ON_DEMAND"}, "modelVersion": "gemini-2.5-flash"}
    unary = {**event, "candidates": [{**event["candidates"][0], "finishReason": "STOP"}],
             "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 3, "totalTokenCount": 8}}
    raw_unary = json.dumps(unary, indent=2).encode()
    chunk = b"data: " + json.dumps(event, separators=(",", ": ")).encode() + b"\r\n\r\n"
    translator = StreamTranslator(ResponseContext(requested_model="gemini-2.5-flash", stream=True))
    return {
        "unary reply: json.loads + to_openai_response + json.dumps": _best_us(lambda: json.dumps(
            to_openai_response(json.loads(raw_unary), ResponseContext(requested_model="gemini-2.5-flash")))),
        "stream: one chunk through StreamTranslator.feed": _best_us(lambda: translator.feed(chunk)),
    }


def run_all(sizes: tuple[str, ...]) -> dict:
    out: dict = {}
    for name, step in (("parsers", lambda: parsers(sizes)), ("request_path", lambda: request_path(sizes)),
                       ("reply_path", reply_path)):
        try:
            out[name] = step()
        except Exception as e:  # noqa: BLE001 - a moved API should not sink the whole run
            out[name] = {"error": f"{type(e).__name__}: {e}"}
    return out
