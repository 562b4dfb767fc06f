"""Where ``qa`` keeps its index and finds its articles: the same answer from any working directory.

The data directory is ``QA_DATA_DIR`` if set, else ``data/`` of the source checkout the package runs
from, else the user's data directory (``$XDG_DATA_HOME/newsqa``, by default ``~/.local/share/newsqa``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def _checkout() -> Path | None:
    """The source checkout the package runs from, if it runs from one (an editable install)."""
    return CHECKOUT if (CHECKOUT / "pyproject.toml").is_file() else None


def user_data_dir(env: Mapping[str, str]) -> Path:
    """The per-user data directory (XDG base directory specification)."""
    base = env.get("XDG_DATA_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".local" / "share") / "newsqa"


def find_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """QA_DATA_DIR, else the checkout's data/, else the user data directory."""
    env = os.environ if env is None else env
    given = env.get("QA_DATA_DIR", "").strip()
    if given:
        return Path(given)
    checkout = _checkout()
    return checkout / "data" if checkout else user_data_dir(env)


def find_seeds_dir(env: Mapping[str, str] | None = None) -> Path:
    """QA_SEEDS_DIR, else the checkout's seeds/, else ./seeds."""
    env = os.environ if env is None else env
    given = env.get("QA_SEEDS_DIR", "").strip()
    if given:
        return Path(given)
    checkout = _checkout()
    return checkout / "seeds" if checkout else Path("seeds")


def where_looked(env: Mapping[str, str] | None = None) -> str:
    """How the data directory was chosen, for the message shown when there is no index there."""
    env = os.environ if env is None else env
    given = env.get("QA_DATA_DIR", "").strip()
    checkout = _checkout()
    steps = [f"QA_DATA_DIR={given!r}" if given else "QA_DATA_DIR (unset)"]
    if not given:
        steps.append(f"the checkout's data/ ({checkout / 'data'})" if checkout
                     else "the checkout's data/ (not running from a checkout)")
        if not checkout:
            steps.append(f"the user data directory ({user_data_dir(env)})")
    return (f"qa looked for its data directory in: {', then '.join(steps)}; using {find_data_dir(env)}. "
            "Set QA_DATA_DIR to use another one.")
