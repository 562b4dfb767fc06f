"""The gold-question eval suite: gold.jsonl, the runner, metrics, reports and the regression gate.

It lives in the checkout only (the wheel does not ship it); `qa eval` and `qa bench` load it from there.
"""

__all__ = ["bench", "cli", "gate", "gold", "metrics", "report", "runner", "summary"]
