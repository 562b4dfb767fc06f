"""`python -m eval`: the same as `qa eval`."""

from __future__ import annotations

from eval.cli import main

raise SystemExit(main())
