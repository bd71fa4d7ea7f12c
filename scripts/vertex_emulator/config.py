"""Server knobs, changeable at runtime (``EmulatorServer.configure`` / ``POST /_emulator/config``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EmulatorConfig:
    api_key: str = "emulator-key"  # accepted on express-mode paths
    declared_expires_in: int = 3599  # what /token tells the client
    max_token_age: float | None = None  # when tokens really stop working (None: declared_expires_in)
    fast: bool = False  # benchmarks: no validation, no logging, a fixed small reply
    delay_ms: int = 0  # default wait before response headers
    stream_chunks: int = 3  # default chunk count of the echo / fast reply
    chunk_interval_ms: int = 0  # default wait between stream chunks
    faults: dict[str, float] = field(default_factory=dict)  # see faults.FAULTS
    seed: int | None = None  # for the fault dice
    models: list[str] | None = None  # known models (fnmatch patterns); None: every model exists
    signatures_whole_history: bool = False  # Gemini 3 checks only the current turn unless True
    log_limit: int = 10_000  # request log entries kept

    @property
    def token_lifetime(self) -> float:
        return self.declared_expires_in if self.max_token_age is None else self.max_token_age

    def update(self, **changes: Any) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown config option(s): {sorted(unknown)}; known: {sorted(names)}")
        for name, value in changes.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def copy(self) -> EmulatorConfig:
        return dataclasses.replace(self, faults=dict(self.faults),
                                   models=None if self.models is None else list(self.models))
