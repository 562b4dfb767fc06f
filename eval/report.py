"""Reports: a terminal table, a self-contained HTML page (inline SVG chart) and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import msgspec

from eval.runner import QuestionResult
from eval.summary import Figures

COLUMNS = (
    ("n", "questions"), ("pass", "pass_rate"), ("ans-rec", "answer_recall"), ("F1", "token_f1"),
    ("cite-ok", "citation_validity"), ("support", "citation_support"),
    ("cite-prec", "citation_precision"), ("R@k", "recall_at_k"), ("MRR", "mrr"),
    ("false-ref", "false_refusal_rate"),
)


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.2f}"


def terminal_table(summary: Mapping[str, Figures], results: Sequence[QuestionResult]) -> str:
    """The summary as a fixed-width table, then the failed questions and why."""
    width = max(len(g) for g in summary) + 2
    lines = ["group".ljust(width) + "".join(h.rjust(10) for h, _ in COLUMNS)]
    groups = [g for g in summary if g != "overall"] + ["overall"]
    for group in groups:
        figures = summary[group]
        if group == "overall":
            lines.append("-" * len(lines[0]))
        lines.append(group.ljust(width) + "".join(_fmt(figures[k]).rjust(10) for _, k in COLUMNS))
    o = summary["overall"]
    lines += [
        "",
        f"passed {o['passed']}/{o['questions']}   errors {o['errors']}   "
        f"citations {o['citations']} (valid {_fmt(o['citation_validity'])})",
        f"abstention: precision {_fmt(o['abstention_precision'])}  recall "
        f"{_fmt(o['abstention_recall'])}  F1 {_fmt(o['abstention_f1'])}  "
        f"false-refusal rate {_fmt(o['false_refusal_rate'])}",
        f"latency per question: p50 {_fmt(o['latency_p50'])}s  p95 {_fmt(o['latency_p95'])}s",
    ]
    if o["llm_answers"] or o["fallbacks"]:
        lines.append(f"llm: {o['llm_answers']} answers kept the LLM text, "
                     f"{o['fallbacks']} fell back (fallback_reason set)")
    failed = [r for r in results if not r.passed]
    if failed:
        lines += ["", "failed:"]
        lines += [f"  {r.id:<12} {'; '.join(r.why)}" for r in failed]
    return "\n".join(lines)


def to_json(summary: Mapping[str, Figures], results: Sequence[QuestionResult],
            config: Mapping[str, object], gate: Sequence[str] | None) -> str:
    """The whole run as JSON: config, summary, gate problems (if checked) and every result."""
    payload = {
        "config": dict(config), "summary": dict(summary),
        "gate": None if gate is None else {"passed": not gate, "problems": list(gate)},
        "results": msgspec.to_builtins(list(results)),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def bar_chart(summary: Mapping[str, Figures]) -> str:
    """Pass rate per category as an inline SVG bar chart."""
    groups = [g for g in summary if g != "overall"] + ["overall"]
    bar_h, gap, label_w, chart_w = 18, 6, 130, 360
    height = len(groups) * (bar_h + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + chart_w + 60}" '
             f'height="{height}" role="img" aria-label="pass rate per category">']
    for i, group in enumerate(groups):
        rate = float(summary[group]["pass_rate"] or 0.0)
        y = gap + i * (bar_h + gap)
        color = "#2e7d32" if rate >= 0.8 else "#f9a825" if rate >= 0.5 else "#c62828"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end">{escape(group)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{chart_w}" height="{bar_h}" fill="#eee"/>'
            f'<rect x="{label_w}" y="{y}" width="{rate * chart_w:.1f}" height="{bar_h}" '
            f'fill="{color}"/>'
            f'<text x="{label_w + chart_w + 6}" y="{y + bar_h - 5}">{rate:.0%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f4f4f4}.pass{color:#2e7d32;font-weight:bold}
.fail{color:#c62828;font-weight:bold}.q{max-width:22em}.a{max-width:34em}.c{max-width:30em;
font-size:12px}svg text{font:12px system-ui,sans-serif}.bad{color:#c62828}"""


def _citations_html(r: QuestionResult) -> str:
    items = []
    for c in r.citations:
        marks = ("valid" if c.valid else "<b class=bad>INVALID</b>") + (
            ", on gold" if c.supported else ", off gold")
        items.append(f"<li>[{c.marker}] {escape(c.doc_id)} {c.start}-{c.end} ({marks}): "
                     f"&ldquo;{escape(c.quote)}&rdquo;</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def to_html(summary: Mapping[str, Figures], results: Sequence[QuestionResult],
            config: Mapping[str, object], gate: Sequence[str] | None) -> str:
    """A self-contained HTML report: summary table, bar chart, gate result, every question."""
    head = "".join(f"<th>{escape(h)}</th>" for h, _ in COLUMNS)
    rows = "".join(
        f"<tr><td>{escape(g)}</td>"
        + "".join(f"<td>{_fmt(summary[g][k])}</td>" for _, k in COLUMNS) + "</tr>"
        for g in summary
    )
    o = summary["overall"]
    gate_html = ""
    if gate is not None:
        gate_html = ("<p class=pass>Gate passed.</p>" if not gate else
                     "<p class=fail>Gate failed:</p><ul>"
                     + "".join(f"<li>{escape(p)}</li>" for p in gate) + "</ul>")
    questions = "".join(
        f"<tr><td>{escape(r.id)}</td><td>{escape(r.category)}</td>"
        f"<td class=q>{escape(r.question)}</td>"
        f"<td class=a>{escape(r.answer)}"
        + (f"<br><i>short: {escape(r.short_answer)}</i>" if r.short_answer else "")
        + f"</td><td class=c>{_citations_html(r)}</td>"
        f"<td class={'pass' if r.passed else 'fail'}>{'pass' if r.passed else 'fail'}</td>"
        f"<td>{escape('; '.join(r.why))}</td></tr>"
        for r in results
    )
    settings = ", ".join(f"{k}={v}" for k, v in config.items())
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>QA eval report</title><style>{_CSS}</style></head><body>
<h1>QA eval report</h1><p>{escape(settings)}</p>
<p>Passed {o['passed']}/{o['questions']}; citation validity {_fmt(o['citation_validity'])};
abstention F1 {_fmt(o['abstention_f1'])}; latency p50 {_fmt(o['latency_p50'])}s,
p95 {_fmt(o['latency_p95'])}s; LLM answers {o['llm_answers']}, fallbacks {o['fallbacks']}.</p>
{gate_html}<h2>Pass rate per category</h2>{bar_chart(summary)}
<h2>Figures</h2><table><tr><th>group</th>{head}</tr>{rows}</table>
<h2>Questions</h2><table><tr><th>id</th><th>category</th><th>question</th><th>answer</th>
<th>citations</th><th>result</th><th>why</th></tr>{questions}</table></body></html>
"""


def write_reports(path: Path, summary: Mapping[str, Figures], results: Sequence[QuestionResult],
                  config: Mapping[str, object], gate: Sequence[str] | None) -> Path:
    """Write the HTML report to ``path`` and the JSON beside it; returns the JSON path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_html(summary, results, config, gate), encoding="utf-8")
    json_path = path.with_suffix(".json")
    if json_path == path:  # never let the JSON overwrite the HTML
        json_path = path.with_name(path.name + ".json")
    json_path.write_text(to_json(summary, results, config, gate), encoding="utf-8")
    return json_path


HEADLINE = (
    ("n", "questions"), ("pass", "pass_rate"), ("answerable", "answerable_pass_rate"),
    ("refuse-P", "abstention_precision"), ("refuse-R", "abstention_recall"),
    ("refuse-F1", "abstention_f1"), ("quotes-ok", "citation_validity"), ("R@k", "recall_at_k"),
    ("net", "safety_net"),
)


def split_groups(results: Sequence[QuestionResult]) -> dict[str, list[QuestionResult]]:
    """Results by "corpus/split", corpora in run order, dev before test."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in sorted(results, key=lambda r: r.split != "dev"):
        groups.setdefault(f"{r.corpus}/{r.split}", []).append(r)
    order = list(dict.fromkeys(r.corpus for r in results))
    return dict(sorted(groups.items(), key=lambda kv: order.index(kv[0].split("/")[0])))


def flat_summary(results: Sequence[QuestionResult]) -> dict[str, Figures]:
    """``overall`` (every result), then each corpus/split and each of its categories."""
    from eval.summary import summarize

    out = {"overall": summarize(results)["overall"]}
    for key, group in split_groups(results).items():
        for name, figures in summarize(group).items():
            out[key if name == "overall" else f"{key} {name}"] = figures
    return out


def shown(results: Sequence[QuestionResult], show_test: bool) -> list[QuestionResult]:
    """The results whose questions may be listed: test-split ones only when asked for."""
    return [r for r in results if show_test or r.split != "test"]


def corpus_report(results: Sequence[QuestionResult], show_test: bool = False) -> str:
    """A headline row per corpus and split, then each one's category table and failures."""
    from eval.summary import summarize

    groups = split_groups(results)
    width = max([len(k) for k in groups] + [5]) + 2
    lines = ["corpus/split".ljust(width) + "".join(h.rjust(11) for h, _ in HEADLINE)]
    for key, group in groups.items():
        figures = summarize(group)["overall"]
        lines.append(key.ljust(width) + "".join(_fmt(figures[k]).rjust(11) for _, k in HEADLINE))
    for key, group in groups.items():
        listed = shown(group, show_test)
        lines += ["", f"== {key} ==", terminal_table(summarize(group), listed)]
        if len(listed) < len(group):
            lines.append(f"({sum(not r.passed for r in group)} test failures not listed: the test "
                         "split is for the gate only; --show-test-failures lists them)")
    return "\n".join(lines)
