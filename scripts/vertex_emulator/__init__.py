"""A local HTTP server that behaves like Vertex AI Gemini (generateContent, streaming, OAuth).

Used by the tests, the benchmarks and ``vertex-bridge --emulator``. Start it with
``EmulatorServer`` (in-process) or ``python -m vertex_emulator`` (CLI), script its
replies with ``Reply`` and inspect ``log`` / ``token_requests``.
"""

from .config import EmulatorConfig
from .replies import Reply
from .server import EmulatorServer
from .service_account import write_service_account
from .validation import validate_request, validate_schema

Scenario = Reply  # alias: a scripted reply is one step of a test scenario

__all__ = ["EmulatorConfig", "EmulatorServer", "Reply", "Scenario", "validate_request", "validate_schema",
           "write_service_account"]
