#!/usr/bin/env python3
"""Builds scenes/yangpu-riverfront from the landmark estimates in its sources/ folder.

No surveyed geometry of the Yangpu riverfront could be obtained offline, so this script lays
the district out along an estimated river bank: every position is (chainage s along the bank,
inland offset d) in metres, mapped to WGS84. Landmarks take their chainage and offset from
sources/yangpu_riverfront_landmarks_ESTIMATED.csv; streets, blocks and street furniture are
generated and say so in their `source` property. Deterministic: same script, same files.

Run from the repository root:  python3 tools/gen_yangpu.py
"""
import csv, json, math, os, random, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scene_geo import Frame, feature, write_layer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENE = os.path.join(ROOT, "scenes", "yangpu-riverfront")
MODELS = os.path.join(ROOT, "assets", "models")
ORIGIN = (121.535, 31.262)
LENGTH = 5500  # metres of promenade, Qinhuangdao Road pier -> Dinghai Bridge

# Estimated Puxi bank, west -> east (lon, lat). From the ESTIMATED landmark file: the ferry
# terminals and the bridge crossing lie on the bank; the east end is set back from the inland
# offsets of the power-plant park and fashion centre, bending north to the Dinghai Bridge.
BANK = [(121.51205, 31.25059), (121.5195, 31.2508), (121.52619, 31.2519), (121.5322, 31.2538),
        (121.53804, 31.25685), (121.5431, 31.2603), (121.5480, 31.2639),
        (121.5536, 31.2677), (121.5565, 31.2708), (121.5583, 31.2735)]

EST = "estimate: hand-laid from landmark chainage/offset estimates (tools/gen_yangpu.py); error 150-500 m"
GEN = "generated: tools/gen_yangpu.py layout along the estimated bank"

# --- local frame ------------------------------------------------------------------------
FRAME = Frame(*ORIGIN)
to_local, to_wgs = FRAME.to_local, FRAME.to_wgs

# --- the bank curve B(s) with inland normal n(s) ------------------------------------------
def chaikin(points, rounds=6):
    """Corner-cutting smoothing: a quadratic B-spline that never loops, ends kept."""
    for _ in range(rounds):
        out = [points[0]]
        for a, b in zip(points, points[1:]):
            out.append((0.75 * a[0] + 0.25 * b[0], 0.75 * a[1] + 0.25 * b[1]))
            out.append((0.25 * a[0] + 0.75 * b[0], 0.25 * a[1] + 0.75 * b[1]))
        out.append(points[-1])
        points = out
    return points

CURVE = chaikin([to_local(*p) for p in BANK])
CUM = [0.0]
for a, b in zip(CURVE, CURVE[1:]):
    CUM.append(CUM[-1] + math.dist(a, b))
SCALE = 1.0  # chainage = metres along the drawn bank; past its east end the bank runs straight on

def frame_at(s):
    """Bank point and unit tangent at chainage s (extrapolated straight beyond the ends)."""
    u = s * SCALE
    if u <= 0:
        (x0, y0), (x1, y1) = CURVE[0], CURVE[1]; base, off = CURVE[0], u
    elif u >= CUM[-1]:
        (x0, y0), (x1, y1) = CURVE[-2], CURVE[-1]; base, off = CURVE[-1], u - CUM[-1]
    else:
        i = next(i for i in range(len(CUM) - 1) if CUM[i + 1] >= u)
        (x0, y0), (x1, y1) = CURVE[i], CURVE[i + 1]; base, off = CURVE[i], u - CUM[i]
    L = math.hypot(x1 - x0, y1 - y0); tx, ty = (x1 - x0) / L, (y1 - y0) / L
    return (base[0] + tx * off, base[1] + ty * off), (tx, ty)

def at(s, d):
    """WGS84 position at chainage s, inland offset d (negative = over the river)."""
    (bx, by), (tx, ty) = frame_at(s)
    return to_wgs(bx - ty * d, by + tx * d)

def rect(s0, s1, d0, d1, step=50):
    ss = list(range(int(s0), int(s1), step)) + [s1]
    ring = [at(s, d0) for s in ss] + [at(s, d1) for s in reversed(ss)]
    return [ring + [ring[0]]]

def write(name, feats):
    write_layer(SCENE, name, feats)

# --- layout -------------------------------------------------------------------------------
D_PROM, D_YSP, D_PL, D_RIVERSIDE, D_INLAND = 12, 250, 520, -30, 560
CROSS = [(80, "Qinhuangdao Road", None), (600, "Dalian Road", None), (1050, "Tongbei Road", "north"),
         (1650, "Xuchang Road", "south"), (2350, "Ningguo Road", None), (2850, "Longchang Road", None),
         (3300, "Lanzhou Road", None), (4150, "Jungong Road", None), (5350, "Dinghai Road", None)]
LANES = sorted({s for s, _, _ in CROSS} | {1350, 2150, 2530, 3800, 4600, 5000})
PARTS = [("pingliang", "310110006", "平凉路街道 Pingliang Road", -20, 1800),
         ("daqiao", "310110018", "大桥街道 Daqiao", 1800, 3800),
         ("dinghai", "310110001", "定海路街道 Dinghai Road", 3800, LENGTH + 20)]

def landmarks():
    rows = {r["id"]: r for r in csv.DictReader(open(os.path.join(SCENE, "sources", "yangpu_riverfront_landmarks_ESTIMATED.csv")))}
    def ch(i): return float(rows[i]["chainage_km"]) * 1000
    # id, name, s, d, width along bank, depth, height m, heritage, model, note
    return [
        ("waterworks", "杨树浦水厂 Yangshupu Water Plant (1881)", ch("waterworks"), 130, 180, 110, 18, True, "water-plant-gate.glb"),
        ("water_museum", "上海自来水科技馆 Shanghai Water Science Museum", ch("water_museum"), 212, 30, 20, 12, True, None),
        ("fishermans_wharf", "东方渔人码头 Fisherman's Wharf office tower", ch("fishermans_wharf"), 120, 40, 40, 110, False, None),
        ("rescue_museum", "中国救捞陈列馆 China Rescue and Salvage Museum (Haishu Bldg)", ch("rescue_museum"), 195, 30, 30, 60, False, None),
        ("planning_hall", "人民城市建设规划展示馆 Planning Exhibition Hall", ch("planning_hall"), 150, 40, 30, 12, False, None),
        ("worldskills_museum", "永安栈房 Yong'an Warehouse / WorldSkills Museum (1921)", ch("worldskills_museum"), 120, 60, 24, 22, True, "warehouse.glb"),
        ("yangpu_bridge_pylon", "杨浦大桥浦西主塔 Yangpu Bridge Puxi pylon", ch("yangpu_bridge_puxi_bank"), -60, 30, 16, 208, False, "bridge-pylon.glb"),
        ("aux_plant_station", "电站辅机厂驿站 Power Station Auxiliary Plant service station", ch("aux_plant_station"), 100, 40, 30, 9, True, None),
        ("renrenwu", "人人屋 Renrenwu party-and-public service station", 3080, 60, 12, 8, 5, False, None),
        ("soap_dream", "皂梦空间 Soap Dream Space (Shanghai Soap Factory)", ch("soap_dream"), 130, 40, 30, 16, True, None),
        ("baiqi_cafe", "白七咖啡 Bai Qi café", ch("baiqi_cafe"), 65, 16, 12, 7, False, None),
        ("power_plant_chimney", "杨树浦电厂烟囱 Yangshupu Power Plant chimney", ch("power_plant_park"), 90, 12, 12, 105, True, None),
        ("fashion_center", "上海国际时尚中心 Shanghai International Fashion Center", ch("fashion_center"), 170, 70, 50, 20, True, None),
    ]

def roads():
    feats = []
    def longitudinal(prefix, name, d, cls, stops, extra={}):
        stops = sorted(set(stops) | {0, LENGTH})
        for i, (a, b) in enumerate(zip(stops, stops[1:])):
            ss = sorted(set(range(a, b, 50)) | {a, b})
            feats.append(feature(dict({"id": f"{prefix}-{i:02d}", "name": name, "class": cls, "source": EST}, **extra),
                                 {"type": "LineString", "coordinates": [at(s, d) for s in ss]}))
    longitudinal("promenade", "杨浦滨江步道 Yangpu riverside promenade", D_PROM, "promenade", LANES, {"modes": ["foot", "bike"], "speed_kmh": 10})
    longitudinal("yangshupu", "杨树浦路 Yangshupu Road", D_YSP, "arterial", LANES, {"speed_kmh": 40})
    longitudinal("pingliang", "平凉路 Pingliang Road", D_PL, "arterial", [s for s, _, _ in CROSS], {"speed_kmh": 40})
    for s, name, oneway in CROSS:
        ds = [D_YSP, 385, D_PL] if oneway != "south" else [D_PL, 385, D_YSP]
        props = {"id": f"cross-{s}", "name": name, "class": "street", "source": EST, "speed_kmh": 30}
        if oneway:
            props["oneway"] = True
        feats.append(feature(props, {"type": "LineString", "coordinates": [at(s, d) for d in ds]}))
    for s in LANES:
        feats.append(feature({"id": f"lane-{s}", "name": "riverside access lane", "class": "lane", "source": GEN,
                              "modes": ["foot", "bike", "car"], "speed_kmh": 15},
                             {"type": "LineString", "coordinates": [at(s, d) for d in (D_PROM, 130, D_YSP)]}))
    return feats

def buildings(marks):
    rng = random.Random(1881)
    feats = []
    for (bid, name, s, d, w, dep, h, heritage, model) in marks:
        props = {"id": bid, "name": name, "height_m": h, "heritage": heritage, "landmark": True, "source": EST}
        if model:
            props["model"] = model
        feats.append(feature(props, {"type": "Polygon", "coordinates": rect(s - w / 2, s + w / 2, d - dep / 2, d + dep / 2, 10)}))
    def clear(s0, s1, d0, d1):
        for (_, _, s, d, w, dep, *_r) in marks:
            if s0 < s + w / 2 + 15 and s1 > s - w / 2 - 15 and d0 < d + dep / 2 + 15 and d1 > d - dep / 2 - 15:
                return False
        return all(not (s0 - 12 < l < s1 + 12) for l in LANES)
    n = 0
    cuts = [0] + [s for s, _, _ in CROSS] + [LENGTH]
    for a, b in zip(cuts, cuts[1:]):
        # inland blocks between Yangshupu Road and Pingliang Road: housing and offices
        for (d0, d1) in [(270, 320), (340, 375), (395, 430), (450, 500)]:
            s = a + 18
            while s + 30 < b - 18:
                w = rng.choice([24, 28, 32, 36])
                if clear(s, s + w, d0, d1):
                    n += 1
                    feats.append(feature({"id": f"blk-{n:04d}", "levels": rng.choice([5, 6, 6, 7, 8, 12, 18]), "source": GEN},
                                         {"type": "Polygon", "coordinates": rect(s, s + w, d0, d1, 100)}))
                s += w + rng.choice([8, 10, 14])
        # riverside band between the promenade and Yangshupu Road: former industrial sheds
        for (d0, d1) in [(45, 95), (150, 225)]:
            s = a + 25
            while s + 40 < b - 25:
                w = rng.choice([40, 50, 60])
                if clear(s, s + w, d0, d1):
                    n += 1
                    feats.append(feature({"id": f"shed-{n:04d}", "height_m": rng.choice([9, 11, 13, 15]), "source": GEN},
                                         {"type": "Polygon", "coordinates": rect(s, s + w, d0, d1, 100)}))
                s += w + rng.choice([15, 20, 30])
    return feats

def water():
    ring = [at(s, 0) for s in range(-800, LENGTH + 801, 100)] + [at(s, -460) for s in range(LENGTH + 800, -801, -100)]
    return [feature({"id": "huangpu", "name": "黄浦江 Huangpu River", "source": EST},
                    {"type": "Polygon", "coordinates": [ring + [ring[0]]]})]

def subdistricts():
    return [feature({"id": pid, "code": code, "name": name, "source": "estimate: riverfront strip between assumed boundary chainages (tools/gen_yangpu.py); codes from NBS 2023"},
                    {"type": "Polygon", "coordinates": rect(s0, s1, D_RIVERSIDE, D_INLAND)}) for pid, code, name, s0, s1 in PARTS]

def assets():
    feats = []
    def add(kind, prefix, s, d, name=None, source=GEN):
        props = {"id": f"{prefix}-{len([f for f in feats if f['properties']['kind'] == kind]) + 1:03d}", "kind": kind, "source": source}
        if name:
            props["name"] = name
        feats.append(feature(props, {"type": "Point", "coordinates": at(s, d)}))
    for s in range(20, LENGTH, 35): add("bin", "bin", s, 18)
    for s in range(60, LENGTH, 100): add("bin", "bin", s, 240)
    for s in range(30, LENGTH, 50): add("manhole", "mh", s, D_YSP)
    for s in range(50, LENGTH, 100): add("manhole", "mh", s, D_PL)
    for s in range(40, LENGTH, 150): add("electric_box", "ebox", s, 35)
    for s in range(100, LENGTH, 250): add("water_sensor", "ws", s, 20)
    for s in range(200, LENGTH, 500): add("dust_sensor", "dust", s, 262)
    for s in (2330, 4170): add("dust_sensor", "dust", s, 300)
    for s in range(40, LENGTH, 80): add("camera", "cam", s, 14)
    for s, _, _ in CROSS: add("camera", "cam", s + 8, D_YSP + 8)
    for s in range(300, LENGTH, 120): add("hydrant", "hyd", s, 258)
    stations = [(150, "No.1 Qinhuangdao Road"), (700, "No.2 Dalian Road"), (1250, "No.3 Waterworks"), (1900, "No.4 Fisherman's Wharf"),
                (2500, "No.5 Yangpu Bridge"), (3080, "No.6 Renrenwu"), (3150, "No.7 Power Station Auxiliary Plant (largest)"),
                (4000, "No.8 Jungong Road"), (4800, "No.9 Power Plant Park")]
    for s, name in stations: add("service_station", "station", s, 30, f"公共服务站 public service station {name}", EST)
    for s, d, name in [(0, -25, "秦皇岛路码头 Qinhuangdao Road ferry terminal"), (1450, -15, "杨树浦水厂栈桥 Waterworks boardwalk"),
                       (1950, -20, "渔人码头游船码头 Fisherman's Wharf cruise pier"), (2950, -25, "宁国路渡口 Ningguo Road ferry")]:
        add("pier", "pier", s, d, name, EST)
    for s in range(350, LENGTH, 700): add("toilet", "wc", s, 40)
    for s in range(100, LENGTH, 550): add("shuttle_stop", "bus", s, 8)
    # people counters (camera-based) at the four piers and the Power Plant Park plaza: the
    # crowd tides of docs/learn.md
    for s, d, name in [(0, 10, "Qinhuangdao Road ferry terminal"), (1450, 10, "Waterworks boardwalk"),
                       (1950, 10, "Fisherman's Wharf cruise pier"), (2950, 10, "Ningguo Road ferry"),
                       (4800, 25, "Power Plant Park plaza")]:
        add("people_counter", "counter", s, d, f"people counter: {name}", EST)
    return feats

def units():
    out = []
    sections = [(0, 1800), (1800, 3800), (3800, LENGTH)]
    def u(uid, agency, mode, home, shift, patrol):
        out.append((uid, agency, mode, home, shift, patrol))
    def prom_loop(a, b): return [at(a, D_PROM), at((a + b) // 2, D_PROM), at(b, D_PROM), at(b, D_YSP), at(a, D_YSP)]
    def prom_walk(a, b): return [at(a, D_PROM), at(b, D_PROM)]
    def car_loop(a, b): return [at(a, D_YSP), at(b, D_YSP), at(b, D_PL), at(a, D_PL)]
    for i, (a, b) in enumerate(sections):
        lanes_in = [l for l in LANES if a + 50 <= l <= b - 50]
        la, lb = lanes_in[0], lanes_in[-1]
        inside = [c for c, _, _ in CROSS if a <= c <= b]
        ca, cb = inside[0], inside[-1]
        home_prom, home_road = at(la + 60, 20), at(ca, D_YSP)
        u(f"police-car-{i+1:02d}", "police", "car", home_road, "07:00-19:00", car_loop(ca, cb))
        u(f"police-car-{i+4:02d}", "police", "car", home_road, "19:00-07:00", car_loop(ca, cb))
        u(f"police-bike-{i+1:02d}", "police", "bike", home_prom, "08:00-20:00", prom_loop(la, lb))
        u(f"police-bike-{i+4:02d}", "police", "bike", home_prom, "16:00-24:00", prom_loop(la, lb))
        u(f"market-{i+1:02d}", "market_supervision", "bike", home_prom, "09:00-21:00", prom_loop(la, lb))
        u(f"market-foot-{i+1:02d}", "market_supervision", "foot", home_prom, "16:00-23:00", prom_walk(la, lb))
        u(f"urban-bike-{i+1:02d}", "urban_management", "bike", home_prom, "08:00-20:00", prom_loop(la, lb))
        u(f"urban-bike-{i+4:02d}", "urban_management", "bike", home_prom, "14:00-23:00", prom_loop(la, lb))
        u(f"urban-foot-{i+1:02d}", "urban_management", "foot", home_prom, "10:00-22:00", prom_walk(la, lb))
        u(f"urban-night-{i+1:02d}", "urban_management", "bike", home_prom, "22:00-08:00", prom_loop(la, lb))
        for j, shift in enumerate(["06:00-14:00", "14:00-22:00", "22:00-06:00"]):
            for half, (x, y) in enumerate([(la, (la + lb) // 2), ((la + lb) // 2, lb)]):
                u(f"security-{i+1}{j+1}{half+1}", "security", "foot", at(x, 20), shift, prom_walk(x, y))
        for j, shift in enumerate(["05:00-13:00", "13:00-21:00"]):
            for half, (x, y) in enumerate([(la, (la + lb) // 2), ((la + lb) // 2, lb)]):
                u(f"cleaning-foot-{i+1}{j+1}{half+1}", "cleaning", "foot", at(x, 20), shift, prom_walk(x, y))
            u(f"cleaning-bike-{i+1}{j+1}", "cleaning", "bike", home_prom, shift, prom_loop(la, lb))
        u(f"cleaning-night-{i+1}", "cleaning", "bike", home_prom, "21:00-05:00", prom_loop(la, lb))
        u(f"property-{i+1:02d}", "property", "bike", home_prom, "08:00-20:00", prom_loop(la, lb))
        u(f"property-{i+4:02d}", "property", "foot", home_prom, "20:00-08:00", prom_walk(la, lb))
    return out

def manifest(unit_list):
    def ll(p): return f"({p[0]}, {p[1]})"
    lines = ["// Yangpu riverfront (south section), Shanghai — the merged \"+1\" grid of Yangpu's \"12+1\".",
             "// Generated by tools/gen_yangpu.py; geometry is ESTIMATED (see README.md in this folder).",
             "(", '    name: "Yangpu riverfront (south section)",', f"    origin: {ll(ORIGIN)},",
             '    models_dir: "../../assets/models",',
             "    grid: (", "        // Pingliang Road, Daqiao and Dinghai Road subdistrict parts, merged into one grid.",
             '        parts: ["310110006", "310110018", "310110001"],', "        cell_size_m: 100.0,", "    ),",
             "    agencies: [",
             '        (key: "police", name: "Yangpu Public Security Sub-bureau, riverfront police"),',
             '        (key: "market_supervision", name: "Yangpu Market Supervision Bureau"),',
             '        (key: "urban_management", name: "Yangpu Urban Management (城管) riverfront squadron"),',
             '        (key: "security", name: "Riverfront core-area security guards"),',
             '        (key: "cleaning", name: "Riverfront cleaning contractor"),',
             '        (key: "property", name: "Riverfront property management"),', "    ],", "    units: ["]
    for uid, agency, mode, home, shift, patrol in unit_list:
        lines.append(f'        (id: "{uid}", agency: "{agency}", mode: "{mode}", home: {ll(home)}, shift: "{shift}",')
        lines.append(f"            patrol: [{', '.join(ll(p) for p in patrol)}]),")
    lines += ["    ],", ")", ""]
    open(os.path.join(SCENE, "scene.ron"), "w").write("\n".join(lines))

# --- glTF models (binary .glb): boxes in metres, Y up ----------------------------------------
def glb(path, boxes, colour):
    pos, nor, idx = [], [], []
    for (cx, cy, cz, sx, sy, sz) in boxes:
        for axis in range(3):
            for sign in (-1, 1):
                n = [0, 0, 0]; n[axis] = sign
                u, v = [(1, 2), (2, 0), (0, 1)][axis]
                base = len(pos)
                for (a, b) in [(-1, -1), (1, -1), (1, 1), (-1, 1)]:
                    p = [0, 0, 0]; p[axis] = sign; p[u] = a; p[v] = b
                    pos.append([cx + p[0] * sx / 2, cy + p[1] * sy / 2, cz + p[2] * sz / 2]); nor.append(n)
                quad = [0, 1, 2, 0, 2, 3] if sign > 0 else [0, 2, 1, 0, 3, 2]
                idx += [base + q for q in quad]
    pb = b"".join(struct.pack("<3f", *p) for p in pos); nb = b"".join(struct.pack("<3f", *n) for n in nor)
    ib = b"".join(struct.pack("<H", i) for i in idx); ib += b"\0" * (-len(ib) % 4)
    binary = pb + nb + ib
    mins = [min(p[i] for p in pos) for i in range(3)]; maxs = [max(p[i] for p in pos) for i in range(3)]
    doc = {"asset": {"version": "2.0", "generator": "binjiang tools/gen_yangpu.py"}, "scene": 0, "scenes": [{"nodes": [0]}],
           "nodes": [{"mesh": 0, "name": os.path.basename(path)}],
           "materials": [{"pbrMetallicRoughness": {"baseColorFactor": colour + [1.0], "metallicFactor": 0.0, "roughnessFactor": 0.8}}],
           "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": 0}]}],
           "buffers": [{"byteLength": len(binary)}],
           "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(pb), "target": 34962},
                           {"buffer": 0, "byteOffset": len(pb), "byteLength": len(nb), "target": 34962},
                           {"buffer": 0, "byteOffset": len(pb) + len(nb), "byteLength": len(idx) * 2, "target": 34963}],
           "accessors": [{"bufferView": 0, "componentType": 5126, "count": len(pos), "type": "VEC3", "min": mins, "max": maxs},
                         {"bufferView": 1, "componentType": 5126, "count": len(nor), "type": "VEC3"},
                         {"bufferView": 2, "componentType": 5123, "count": len(idx), "type": "SCALAR"}]}
    js = json.dumps(doc, separators=(",", ":")).encode(); js += b" " * (-len(js) % 4)
    out = struct.pack("<III", 0x46546C67, 2, 12 + 8 + len(js) + 8 + len(binary))
    out += struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(binary), 0x004E4942) + binary
    open(path, "wb").write(out)

def models():
    os.makedirs(MODELS, exist_ok=True)
    # Yong'an warehouse: a 4-storey brick block with a roof ridge
    glb(os.path.join(MODELS, "warehouse.glb"), [(0, 8, 0, 60, 16, 24), (0, 17, 0, 60, 2, 16), (0, 19, 0, 60, 2, 8)], [0.55, 0.27, 0.2])
    # Yangshupu water plant gate: two crenellated towers and the arch between them
    glb(os.path.join(MODELS, "water-plant-gate.glb"), [(-9, 9, 0, 6, 18, 6), (9, 9, 0, 6, 18, 6), (0, 12, 0, 12, 4, 4),
        (-9, 18.6, 0, 7, 1.2, 7), (9, 18.6, 0, 7, 1.2, 7), (0, 4, -40, 160, 8, 70)], [0.62, 0.3, 0.22])
    # Yangpu Bridge pylon: two leaning legs joined under the deck and at the top
    legs = [(x, 10 + 20 * k, 0, 5, 20, 5) for x in (-10, 10) for k in range(10)]
    glb(os.path.join(MODELS, "bridge-pylon.glb"), legs + [(0, 50, 0, 26, 4, 5), (0, 205, 0, 26, 6, 5)], [0.85, 0.2, 0.2])

def main():
    marks = landmarks()
    write("roads.geojson", roads())
    write("buildings.geojson", buildings(marks))
    write("water.geojson", water())
    write("subdistricts.geojson", subdistricts())
    write("assets.geojson", assets())
    manifest(units())
    models()

if __name__ == "__main__":
    main()
