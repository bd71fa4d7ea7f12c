"""Print requirement strings from pyproject.toml's `ship` extra, one per line.

    python scripts/ship/requirements.py                  # all of them
    python scripts/ship/requirements.py build pipx       # only these packages
"""

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def ship_requirements(names: list[str]) -> list[str]:
    extra = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["ship"]
    wanted = {n.lower() for n in names}
    found = [r for r in extra if not wanted or re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower() in wanted]
    missing = wanted - {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower() for r in found}
    if missing:
        raise SystemExit(f"pyproject.toml's ship extra lacks: {', '.join(sorted(missing))}")
    return found


if __name__ == "__main__":
    print("\n".join(ship_requirements(sys.argv[1:])))
