#!/usr/bin/env python3
"""Writes data/yangpu-history/truth.ron: the known ground truth the Yangpu demonstration
history is simulated from. It is the scene's catalogue (scenes/yangpu-riverfront/
incident_types.ron) changed where a learner should notice:

- rates: bin_overflow 70 -> 85/day, litter 60 -> 45, illegal_vending 12 -> 18,
  fight_or_theft 4 -> 3;
- a weekly shape (week_profile, Monday 00:00 first): leisure types (bin_overflow, litter,
  illegal_vending, crowd_surge, lost_child, uncivil_behaviour) x1.6 on Saturday and Sunday
  10:00-22:00; fight_or_theft x2 on Friday and Saturday 19:00-24:00; the rest the daily profile
  every day;
- places: hotline_complaint and uncivil_behaviour in cells (equal weight each) with one hot
  cell holding 20 % of them: c27-r9 (by the pier at Yangpu Riverside) and c15-r2;
- durations: bin_overflow on scene LogNormal(median 6 min, sigma 0.35), litter
  Gamma(shape 3, mean 5.5 min), illegal_vending LogNormal(median 22 min, sigma 0.5);
  bin_overflow report delay Gamma(shape 2, mean 120 s).

Run from the repository root; the cell ids come from `cells.txt` beside this script (the
grid's cell ids in order, as `binjiang learn` writes them in model.json)."""
import re, sys, pathlib

root = pathlib.Path(__file__).resolve().parents[2]
text = (root / "scenes/yangpu-riverfront/incident_types.ron").read_text()
cells = (pathlib.Path(__file__).parent / "cells.txt").read_text().split()
RATES = {"bin_overflow": 85.0, "litter": 45.0, "illegal_vending": 18.0, "fight_or_theft": 3.0}
LEISURE = {"bin_overflow", "litter", "illegal_vending", "crowd_surge", "lost_child", "uncivil_behaviour"}
HOT = {"hotline_complaint": "c27-r9", "uncivil_behaviour": "c15-r2"}
ON_SCENE = {"bin_overflow": "LogNormal(median: 6.0, sigma: 0.35)",
            "litter": "Gamma(shape: 3.0, mean: 5.5)",
            "illegal_vending": "LogNormal(median: 22.0, sigma: 0.5)"}
DELAY = {"bin_overflow": "Gamma(shape: 2.0, mean: 120.0)"}


def week(key, profile):
    out = []
    for day in range(7):
        for h in range(24):
            w = profile[h]
            if key in LEISURE and day >= 5 and 10 <= h < 22:
                w *= 1.6
            if key == "fight_or_theft" and day in (4, 5) and h >= 19:
                w *= 2.0
            out.append(round(w, 3))
    return out


def edit(block):
    key = re.search(r'key: "([a-z_]+)"', block).group(1)
    profile = [float(v) for v in re.search(r"profile: \[([^\]]*)\]", block).group(1).split(",")]
    if key in RATES:
        block = re.sub(r"per_day: [0-9.]+", f"per_day: {RATES[key]}", block)
    extra = [f"week_profile: Some({week(key, profile)}),"]
    if key in HOT:
        n = len(cells)
        hot_w = 0.2 / 0.8 * (n - 1)
        weights = ", ".join(f'"{c}": {round(hot_w, 3) if c == HOT[key] else 1.0}' for c in cells)
        block = re.sub(r"origin: [A-Za-z]+(\([^)]*\))?,", f"origin: Cells({{{weights}}}),", block)
    if key in ON_SCENE:
        extra.append(f"on_scene_fit_min: Some({ON_SCENE[key]}),")
    if key in DELAY:
        extra.append(f"report_delay_fit_s: Some({DELAY[key]}),")
    return re.sub(r"(profile: \[[^\]]*\],\n)", lambda m: m.group(1) + "".join(f"            {e}\n" for e in extra), block, count=1)


blocks = re.split(r"(?=        \(\n            key:)", text)
header = "// GROUND TRUTH of the synthetic Yangpu demonstration history (data/yangpu-history/README.md);\n// made by scripts/demo/make_truth.py from the scene's catalogue. Not an estimate of the real district.\n"
out = header + blocks[0] + "".join(edit(b) for b in blocks[1:])
(root / "data/yangpu-history/truth.ron").write_text(out)
print("wrote data/yangpu-history/truth.ron", file=sys.stderr)
