"""The gold-question eval suite: gold.jsonl, the runner, metrics, reports and the regression gate."""
