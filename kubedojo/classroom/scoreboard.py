"""The scoreboard: one row per participant, a column per lab, totals — as rows (for a terminal
table), CSV, and a self-contained HTML page for the projector (sortable; a cell opens its checks)."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from ..labs.results import LabResult

__all__ = ["Scoreboard", "scoreboard"]


@dataclass
class Scoreboard:
    labs: list[tuple[str, str, int]]
    """(id, title, max score) per lab, in order."""
    rows: list[tuple[str, dict[str, LabResult]]]
    """(participant, lab id → result), sorted by total score (highest first), then name."""

    def total(self, results: dict[str, LabResult]) -> int:
        return sum(r.score for r in results.values())

    @property
    def max_total(self) -> int:
        return sum(m for _, _, m in self.labs)

    def cell(self, result: LabResult | None) -> str:
        if result is None:
            return "-"
        mark = {"passed": "✓", "failed": "✗", "pending": "…"}[result.status]
        return f"{result.score}/{result.max_score} {mark}"

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["participant", *[lab for lab, _, _ in self.labs], "total", "max"])
        for name, results in self.rows:
            scores = [results[lab].score if lab in results else "" for lab, _, _ in self.labs]
            writer.writerow([name, *scores, self.total(results), self.max_total])
        return out.getvalue()

    def to_html(self, title: str) -> str:
        data = {
            "labs": [{"id": i, "title": t, "max": m} for i, t, m in self.labs],
            "rows": [
                {
                    "name": name,
                    "total": self.total(results),
                    "labs": {
                        lab: {
                            "score": r.score,
                            "max": r.max_score,
                            "status": r.status,
                            "checks": [
                                {
                                    "title": c.title,
                                    "status": c.status,
                                    "points": c.points,
                                    "earned": c.earned,
                                    "expected": c.expected,
                                    "found": c.found,
                                    "hint": c.hint,
                                }
                                for c in r.checks
                            ],
                        }
                        for lab, r in results.items()
                    },
                }
                for name, results in self.rows
            ],
        }
        payload = json.dumps(data).replace("</", "<\\/")
        return (
            _PAGE.replace("__TITLE__", html.escape(title))
            .replace("__DATA__", payload)
            .replace("__MAX__", str(self.max_total))
        )


def scoreboard(results: Iterable[LabResult], lab_order: list[tuple[str, str, int]]) -> Scoreboard:
    table: dict[str, dict[str, LabResult]] = {}
    for result in results:
        table.setdefault(result.participant, {})[result.lab] = result
    board = Scoreboard(lab_order, [])
    board.rows = sorted(table.items(), key=lambda item: (-board.total(item[1]), item[0]))
    return board


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__: scoreboard</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; font-size: 20px; }
table { border-collapse: collapse; }
th, td { padding: .35em .7em; border-bottom: 1px solid #ddd; text-align: center; }
th { cursor: pointer; background: #f3f3f3; position: sticky; top: 0; }
th[aria-sort] { background: #dde8ff; }
td.name { text-align: left; font-weight: 600; }
td.lab { cursor: pointer; }
.passed { background: #d8f5d8; } .failed { background: #fbd9d9; } .pending { background: #fff4cc; }
.skipped { color: #777; }
#detail { margin-top: 1em; padding: 1em; border: 2px solid #888; display: none; }
#detail.open { display: block; }
#detail li { margin: .3em 0; }
.hint { color: #0a5aa0; }
</style></head>
<body>
<h1>__TITLE__</h1>
<p>Click a column to sort, a cell to see its checks. Maximum: __MAX__ points.</p>
<table id="board"><thead><tr id="head"></tr></thead><tbody id="rows"></tbody></table>
<div id="detail" role="dialog" aria-live="polite"></div>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const columns = [{key: "name", label: "participant"}]
  .concat(data.labs.map(l => ({key: l.id, label: l.id, title: l.title})))
  .concat([{key: "total", label: "total"}]);
let sortKey = "total", sortDown = true;
function value(row, key) {
  if (key === "name") return row.name;
  if (key === "total") return row.total;
  const r = row.labs[key]; return r ? r.score : -1;
}
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function render() {
  const head = document.getElementById("head"); head.replaceChildren();
  for (const c of columns) {
    const th = el("th", {"data-key": c.key, title: c.title || c.label}, c.label);
    if (c.key === sortKey) th.setAttribute("aria-sort", sortDown ? "descending" : "ascending");
    th.addEventListener("click", () => sortBy(c.key));
    head.appendChild(th);
  }
  const rows = data.rows.slice().sort((a, b) => {
    const x = value(a, sortKey), y = value(b, sortKey);
    const order = x < y ? -1 : x > y ? 1 : a.name.localeCompare(b.name);
    return sortDown && x !== y ? -order : order;
  });
  const body = document.getElementById("rows"); body.replaceChildren();
  for (const row of rows) {
    const tr = el("tr", {"data-participant": row.name});
    tr.appendChild(el("td", {class: "name"}, row.name));
    for (const lab of data.labs) {
      const r = row.labs[lab.id];
      const text = r ? r.score + "/" + r.max : "-";
      const td = el("td", {class: "lab " + (r ? r.status : ""), "data-lab": lab.id}, text);
      if (r) td.addEventListener("click", () => show(row.name, lab.id));
      tr.appendChild(td);
    }
    tr.appendChild(el("td", {class: "total"}, String(row.total)));
    body.appendChild(tr);
  }
}
function sortBy(key) {
  if (sortKey === key) sortDown = !sortDown; else { sortKey = key; sortDown = key !== "name"; }
  render();
}
function show(name, labId) {
  const row = data.rows.find(r => r.name === name), r = row && row.labs[labId];
  const box = document.getElementById("detail");
  if (!r) { box.className = ""; return; }
  box.replaceChildren(el("h2", {}, name + " — " + labId + ": " + r.score + "/" + r.max));
  const list = el("ul");
  for (const c of r.checks) {
    const li = el("li", {class: c.status});
    li.appendChild(el("strong", {}, c.title + " (" + c.earned + "/" + c.points + ")"));
    li.appendChild(el("div", {}, "expected: " + c.expected));
    li.appendChild(el("div", {}, "found: " + c.found));
    if (c.hint) li.appendChild(el("div", {class: "hint"}, "hint: " + c.hint));
    list.appendChild(li);
  }
  box.appendChild(list);
  box.className = "open";
  box.setAttribute("data-showing", name + "/" + labId);
}
function fromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("sort")) { sortKey = params.get("sort"); sortDown = params.get("order") !== "asc"; }
  render();
  if (params.get("detail")) { const [n, l] = params.get("detail").split("/"); show(n, l); }
}
window.addEventListener("hashchange", fromHash);
fromHash();
</script>
</body></html>
"""
