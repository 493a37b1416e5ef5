"""The report page: one self-contained HTML file (figures embedded as base64 PNG, styles inline,
no script, nothing fetched from the network). Every number is formatted from the summary dict,
which :mod:`.summary` read from the files."""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

from ...analysis.fss.compare import describe_preference
from ..config import ERROR_MODEL_LABELS
from ..layout import slice_label
from .summary import comparison_label

DPI = 100

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1250px;
padding:1.2em 2em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
h3{margin-bottom:.3em}.question{font-size:1.1em;font-style:italic;margin:.3em 0 1em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.88em}
th,td{border:1px solid #d0d0d0;padding:.25em .55em;text-align:right;vertical-align:top}
th{background:#f1f1f1}td.text,th.text{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #e3e3e3}
figcaption{font-size:.9em;color:#444;margin-top:.3em}.warn li{color:#8a4b00}
.muted{color:#666;font-size:.9em}.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.row figure{margin:.5em 0;max-width:48%}code{font-size:.92em}dl{display:grid;grid-template-columns:max-content auto;
gap:.15em 1em}dt{font-weight:600}dd{margin:0}
"""


def fmt(value: Any, digits: int = 3) -> str:
    """A number as shown: ``digits`` significant figures; None (non-finite) as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def pm(value: Any, err: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{fmt(value, digits)} ± {fmt(err, 2)}" if err is not None else fmt(value, digits)


def interval(est: dict[str, Any] | None) -> str:
    if not est or est.get("median") is None:
        return "–"
    return f"{fmt(est['median'])} [{fmt(est['lo68'])}, {fmt(est['hi68'])}]"


def table(columns: list[str], rows: list[list[str]], *, text_cols: set[int] = frozenset()) -> str:
    head = "".join(f'<th class="{"text" if i in text_cols else ""}">{html.escape(c)}</th>' for i, c in enumerate(columns))
    body = "".join("<tr>" + "".join(f'<td class="{"text" if i in text_cols else ""}">{cell}</td>'
                                    for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(key: str, caption: str, fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure id="{html.escape(key)}"><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _config(study: dict[str, Any]) -> str:
    grids = table(["grid", "dimension", "values"],
                  [[html.escape(g), html.escape(d), ", ".join(fmt(v, 6) for v in vals)]
                   for g, dims in study["grids"].items() for d, vals in dims.items()], text_cols={0, 1, 2})
    plan = {"analysis": study["analysis"], "phase thresholds": study["phases"], "window scan": study["scan"],
            "finite-size scaling": study["fss"], "experiment options": study["options"],
            "executor": study["executor"]}
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{_settings(v)}</dd>" for k, v in plan.items())
    extras = ", ".join(html.escape(e["name"]) for e in study["analyzers"]) or "none"
    return (f"<h2>Configuration</h2><p>Experiment <b>{html.escape(study['experiment'])}</b> on "
            f"<b>{html.escape(study['device'])}</b>; configuration hash <code>{study['config_sha256'][:16]}</code>; "
            f"further analyzers: {extras}.</p>{grids}<dl>{items}</dl>")


def _settings(values: dict[str, Any]) -> str:
    """``key = value`` pairs (a nested table's keys as ``section.key``), values as JSON."""
    flat: list[tuple[str, Any]] = []
    for key, value in sorted(values.items()):
        if isinstance(value, dict) and value:
            flat += [(f"{key}.{k}", v) for k, v in sorted(value.items())]
        else:
            flat.append((key, value))
    return "; ".join(f"<code>{html.escape(k)} = {html.escape(json.dumps(v))}</code>" for k, v in flat)


def _boundaries(b: dict[str, Any]) -> str:
    cols = b["columns"]
    n = len(cols) - 4
    rows = [[fmt(v) for v in r[:n]] + [pm(r[n], r[n + 1]), fmt(r[n + 2]), html.escape(r[n + 3])] for r in b["rows"]]
    return table([*cols[:n], "boundary (alpha = 0)", "sign changes", cols[-1]], rows, text_cols={len(cols) - 2})


def _preferred_cell(preferred: str, strength: str) -> str:
    """The "preferred" cell by the comparison's strength (:func:`~statmech_nn.analysis.fss.compare.
    strength`): the form in bold for a verdict (>= 2 se), "lean to FORM" (1-2 se), "none (FORM
    ahead)" below one se -- a table of bold names read every tie as a finding."""
    name = html.escape(preferred)
    return {"verdict": f"<b>{name}</b>", "lean": f"lean to {name}", "none": f"none ({name} ahead)"}[strength]


def _comparisons(comps: list[dict[str, Any]], why_below: bool) -> str:
    if not comps:
        return "<p>No finite-size-scaling comparison" + (": see <i>Steps not computed</i> below for why"
                                                          if why_below else "") + ".</p>"
    forms = list(comps[0]["forms"])
    rows = []
    for c in comps:
        where = html.escape(slice_label(c["slice"]))
        model = html.escape(ERROR_MODEL_LABELS.get(c["error_model"], "not recorded"))
        cells = [where, fmt(c["fit_a"]), model, f"[{fmt(c['control_window'][0])}, {fmt(c['control_window'][1])}]",
                 fmt(c["n_points"]), _preferred_cell(c["preferred"], c["strength"]),
                 pm(c["delta_score"], c["delta_se"])]
        for f in forms:
            info = c["forms"][f]
            lines = [f"{html.escape(p)} = {interval(e)}" for p, e in info["params"].items()]
            lines.append(f"error scale {fmt(info['error_scale'])}" + ("" if info["converged"] else " (not converged)"))
            cells.append("<br>".join(lines))
        cells.append(fmt(len(c["warnings"])))
        rows.append(cells)
    return table(["slice", "fitted a", "error model", "control window", "points", "preference",
                  "score difference [nat]", *[f"{f}: median [68 %]" for f in forms], "warnings"], rows,
                 text_cols={0, 2, 5, *range(7, 7 + len(forms))})


def _seed_errors(comp: dict[str, Any], analysis: dict[str, Any]) -> str:
    """One sentence: how the points' errors were taken from the seeds (``summary.json``'s
    ``seed_errors``; empty in a summary of an earlier version)."""
    info = comp.get("seed_errors")
    if not info:
        return ""
    seed = html.escape(analysis["seed"])
    if info["method"] == "per_point":
        return f"<p>Errors: the standard error over {seed}s of each point on its own.</p>"
    share = ("all of it is the trend, as the points' spreads scatter no more than sampling alone makes them"
             if info["trend_weight"] >= 1 else
             f"{100 * info['trend_weight']:.0f} % of it is the trend, the rest the point's own spread")
    return (f"<p>Errors: each point's variance over {seed}s moderated towards a per-size trend (empirical "
            f"Bayes, <code>docs/fss.md</code>, &ldquo;Errors from a few seeds&rdquo;): {share}.</p>")


def _error_shape(comp: dict[str, Any], analysis: dict[str, Any]) -> str:
    """One sentence: how the seed-to-seed deviations of each size's curve split by Legendre term,
    against independent errors (``summary.json``'s ``error_shape``; empty where there is none)."""
    shape, q99 = comp.get("error_shape"), comp.get("error_shape_null_q99")
    if not shape:
        return ""
    terms = ", ".join(f"{html.escape(t)} {100 * v:.0f} %" for t, v in shape.items())
    limits = ", ".join(f"{100 * v:.0f} %" for v in q99.values())
    seed, control = html.escape(analysis["seed"]), html.escape(analysis["control"])
    return (f"<p>Deviations of each size's curve from its {seed} mean, along {control}, by Legendre term "
            f"(share of their energy, pooled over sizes): {terms}; independent errors would stay below "
            f"{limits} in 99 of 100 data sets. Size offsets and tilts model the first two terms "
            f"(<code>docs/fss.md</code>, &ldquo;Which per-size error terms&rdquo;).</p>")


def _robustness(r: dict[str, Any]) -> str:
    cols = r["columns"]
    i_b = cols.index("boundary")
    dims = cols[:i_b]
    params = [c[:-7] for c in cols if c.endswith("_median")]
    rows = []
    for row in r["rows"]:
        get = dict(zip(cols, row))
        counts = " / ".join(fmt(get[f"n_{p}"]) for p in ("eumentia", "dementia", "amentia", "critical"))
        ests = [f"{html.escape(p)} = {interval({'median': get[f'{p}_median'], 'lo68': get[f'{p}_lo68'], 'hi68': get[f'{p}_hi68']})}"
                for p in params if get[f"{p}_median"] is not None]
        rows.append([*[fmt(get[d]) for d in dims], pm(get["boundary"], get["boundary_stderr"]),
                     f"[{fmt(get['alpha_min'])}, {fmt(get['alpha_max'])}]", counts,
                     _preferred_cell(get["preferred"], get["strength"]) if get["preferred"] else "–",
                     pm(get["delta_score"], get["delta_se"]),
                     "<br>".join(ests) or "–"])
    return table([*dims, "boundary", "alpha range", "points e / d / a / c", "preference",
                  "score difference [nat]", "p_c and exponents (median [68 %])"], rows,
                 text_cols={len(dims) + 3, len(dims) + 5})


def _primary(fss: dict[str, Any]) -> str:
    """Which comparison the robustness table shows where a slice has several (``fit_a`` and
    ``error_models`` list more than one): the first of each list; empty otherwise."""
    if len(fss["fit_a"]) == 1 and len(fss["error_models"]) == 1:
        return ""
    a = "with" if fss["fit_a"][0] else "without"
    return (f"<p class='muted'>Preferred form and estimates: the comparison {a} a fitted a under "
            f"{html.escape(ERROR_MODEL_LABELS[fss['error_models'][0]])} (the first listed); the others are in "
            "the table of comparisons above.</p>")


def _figures(items, *, row: bool = False) -> str:
    inner = "".join(figure(k, c, f) for k, c, f in items)
    return f"<div class='row'>{inner}</div>" if row else inner


def _warnings(warnings: list[str]) -> str:
    """The study's warnings, grouped by where they come from (the text before the first ": ",
    e.g. "fss (p_train = 0, width = 32, depth = 1)"), in their order: a slice's eight warnings
    are one item with its own list, not eight lines repeating its name."""
    if not warnings:
        return "<h2>Warnings</h2><p>None.</p>"
    groups: dict[str, list[str]] = {}
    for w in warnings:
        source, sep, text = w.partition(": ")
        groups.setdefault(source if sep else "", []).append(text if sep else w)
    items = "".join(
        f"<li>{html.escape(source)}<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in texts) + "</ul></li>"
        if source else "".join(f"<li>{html.escape(t)}</li>" for t in texts)
        for source, texts in groups.items())
    return f"<h2>Warnings ({len(warnings)})</h2><ul class='warn'>{items}</ul>"


def _provenance(p: dict[str, Any]) -> str:
    versions = html.escape(p["software_versions"])
    files = table(["file", "configuration hash", "created", "git commit"],
                  [[html.escape(f), f"<code>{html.escape(i['config_sha256'][:16])}</code>", html.escape(i["date_created"]),
                    f"<code>{html.escape(i['git_commit'][:10])}</code>"] for f, i in p["files"].items()],
                  text_cols={0, 1, 2, 3})
    return (f"<h2>Provenance</h2><p>Packages: {versions}. Source commit: <code>{html.escape(p['git_commit'] or 'unknown')}</code>."
            f"</p>{files}<p class='muted'>Every number on this page is read from these files (summary.json holds "
            "them); <code>statmech-nn report DIR</code> rebuilds the page.</p>")


def render(summary: dict[str, Any], figures: dict[str, Any]) -> str:
    study = summary["study"]
    title = study["title"] or "statmech_nn study"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    if study["question"]:
        parts.append(f"<p class='question'>{html.escape(study['question'])}</p>")
    parts.append(_config(study))
    parts.append("<h2>Phases</h2><p>alpha is the exponent of a power-law fit "
                 f"{html.escape(study['analysis']['observable'])} ~ {html.escape(study['analysis']['size'])}^alpha; "
                 "eumentia: alpha &lt; 0, dementia: alpha &gt; 0, critical: compatible with 0, amentia: at chance "
                 "and flat (thresholds above).</p>")
    parts.append(_figures(figures["phase_diagram"]))
    parts.append("<h3>Boundaries</h3>" + _boundaries(summary["boundaries"]))
    parts.append("<h2>Loss against size, per phase</h2>" + _figures(figures["loss_vs_n"]))
    if figures["scan"]:
        parts.append("<h2>Exponent against the fit window</h2>" + _figures(figures["scan"]))
    parts.append("<h2>Finite-size scaling at the boundaries</h2>"
                 + _comparisons(summary["comparisons"], bool(summary["not_computed"])))
    for comp in summary["comparisons"]:
        outcome = describe_preference(comp["preferred"], comp["delta_score"], comp["delta_se"],
                                      f"{pm(comp['delta_score'], comp['delta_se'])} nat")
        parts.append(f"<h3>{html.escape(comparison_label(comp))}: {html.escape(outcome)}</h3>")
        parts.append(_seed_errors(comp, study["analysis"]))
        parts.append(_error_shape(comp, study["analysis"]))
        parts.append(_figures(figures["fss"].get(comp["id"], []), row=True))
    if summary["not_computed"]:
        parts.append("<h2>Steps not computed</h2><p>Skipped by the study's settings, or failed on this slice's data "
                     "(the other steps are unaffected):</p><ul>"
                     + "".join(f"<li>{html.escape(n)}</li>" for n in summary["not_computed"]) + "</ul>")
    parts.append("<h2>Robustness across shapes</h2>" + _robustness(summary["robustness"]) + _primary(study["fss"]))
    for name, info in summary["analyzers"].items():
        parts.append(f"<h2>Analyzer {html.escape(name)}</h2>")
        for t in info["tables"].values():
            parts.append(f"<h3>{html.escape(t['title'])}</h3>")
            parts.append(table(t["columns"], [[fmt(v) for v in row] for row in t["rows"]]))
            if t["caption"]:
                parts.append(f"<p class='muted'>{html.escape(t['caption'])}</p>")
        parts.append(_figures(figures["analyzers"].get(name, [])))
    parts.append(_warnings(summary["warnings"]))
    parts.append(_provenance(summary["provenance"]))
    parts.append("</body></html>")
    return "\n".join(parts)
