"""Everything the emulator remembers, shared by the HTTP handlers and the Python API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from .config import EmulatorConfig
from .faults import FaultDice
from .replies import Reply
from .request_log import RequestLog
from .script import ReplyScript
from .signatures import SignatureBook
from .tokens import TokenTable


class Emulator:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.initial_config = (config or EmulatorConfig()).copy()
        self.config = self.initial_config.copy()
        self.tokens = TokenTable(self.config)
        self.script = ReplyScript()
        self.log = RequestLog(self.config.log_limit)
        self.signatures = SignatureBook()
        self.faults = FaultDice(self.config.faults, self.config.seed)

    def queue(self, replies: Iterable[Reply]) -> None:
        self.script.push(replies)

    def configure(self, **changes: Any) -> None:
        dice = FaultDice(changes.get("faults", self.config.faults), changes.get("seed", self.config.seed))
        self.config.update(**changes)
        self.faults = dice
        if "log_limit" in changes:
            self.log.clear(self.config.log_limit)

    def reset(self) -> None:
        """Forget queued replies, the request log and token-request records; restore the startup config.

        Issued tokens stay valid, so a client's cached token survives a reset.
        """
        self.script.clear()
        self.config.update(**self.initial_config.copy().as_dict())
        self.faults = FaultDice(self.config.faults, self.config.seed)
        self.log.clear(self.config.log_limit)
        self.tokens.clear_requests()


EMULATOR = web.AppKey("emulator", Emulator)
