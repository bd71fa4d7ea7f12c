"""The addon script for mitmproxy's own tools:

    mitmdump -s addon/vertex_bridge.py
    mitmweb  -s addon/vertex_bridge.py

With no `--mode` given, the script switches mitmproxy to reverse mode on the configured port
(default 4000), the same as `--mode reverse:https://aiplatform.googleapis.com@4000`.
"""

import logging
import sys
from pathlib import Path

try:
    import addon  # noqa: F401  (installed with `pip install -e .`)
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mitmproxy import ctx

from addon import make_addons
from addon.bundle import Bridge


class ReverseModeDefault:
    """Supply reverse mode on port 4000 when mitmproxy was started in its default (regular) mode."""

    def __init__(self, config) -> None:
        self.config = config

    def running(self) -> None:
        if list(ctx.options.mode) == ["regular"]:
            s = self.config.settings
            mode = f"reverse:{s.base_url}@{s.listen_host}:{s.listen_port}"
            logging.getLogger("vertex_bridge").info("vertex-bridge: switching to --mode %s", mode)
            ctx.options.update(mode=[mode], connection_strategy="lazy")


_parts = make_addons()
addons = [Bridge([_parts[0], ReverseModeDefault(_parts[0]), *_parts[1:]])]
