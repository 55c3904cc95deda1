#!/usr/bin/env python3
"""Writes data/yangpu-history/counts.csv: eight weeks (from Monday 2026-10-05, +08:00) of
15-minute counts from five people counters of the Yangpu scene (their asset ids), drawn from a
known tide so that `binjiang learn --counts` can be checked against it. SYNTHETIC.

Truth, per site, for the count in a 15-minute interval at hour h of day d (0 = Monday):
  mean = scale * shape(h) * (1.8 if d >= 5 and 10 <= h < 22 else 1.0)
  shape(h) = 0.05 + exp(-((h - 8.5) / 1.2)^2) * commute + exp(-((h - 18) / 1.5)^2) * commute
             + exp(-((h - 15) / 3.5)^2) * leisure
and the count is negative binomial with that mean and dispersion k = 6 (a gamma-mixed
Poisson). Sites: (id, scale, commute, leisure)."""
import math, random, pathlib, datetime

SITES = [
    ("counter-001", 120.0, 1.0, 0.3, 121.5120465, 31.2506801),  # Qinhuangdao Road ferry terminal
    ("counter-002", 60.0, 0.2, 1.0, 121.5270637, 31.2523318),   # Waterworks boardwalk
    ("counter-003", 150.0, 0.3, 1.0, 121.5319424, 31.253946),   # Fisherman's Wharf cruise pier
    ("counter-004", 90.0, 1.0, 0.4, 121.5407355, 31.2588033),   # Ningguo Road ferry
    ("counter-005", 80.0, 0.1, 1.0, 121.5552249, 31.269804),    # Power Plant Park plaza
]
K = 6.0


def mean(scale, commute, leisure, day, hour):
    h = hour
    shape = (0.05 + math.exp(-((h - 8.5) / 1.2) ** 2) * commute
             + math.exp(-((h - 18) / 1.5) ** 2) * commute
             + math.exp(-((h - 15) / 3.5) ** 2) * leisure)
    weekend = 1.8 if day >= 5 and 10 <= int(h) < 22 else 1.0
    return scale * shape * weekend


def poisson(rng, lam):
    n = 0
    while lam > 0:
        part = min(lam, 500.0)
        lam -= part
        limit, p = math.exp(-part), 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                break
            n += 1
    return n


def main():
    rng = random.Random(2026)
    start = datetime.datetime(2026, 10, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    root = pathlib.Path(__file__).resolve().parents[2]
    lines = ["time,site,lon,lat,count"]
    for q in range(8 * 7 * 24 * 4):
        t = start + datetime.timedelta(minutes=15 * q)
        day, hour = t.weekday(), t.hour + t.minute / 60.0
        for sid, scale, commute, leisure, lon, lat in SITES:
            m = mean(scale, commute, leisure, day, hour)
            n = poisson(rng, rng.gammavariate(K, m / K))
            lines.append(f"{t.isoformat()},{sid},{lon},{lat},{n}")
    (root / "data/yangpu-history/counts.csv").write_text("\n".join(lines) + "\n")


main()
