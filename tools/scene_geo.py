"""Helpers shared by the scene generators: the local frame (same formulas as binjiang-scene's
projection module), GeoJSON feature writers, and a manifest writer."""
import json, math, os

A, E2 = 6378137.0, 6.694379990141316e-3


class Frame:
    """WGS84 <-> local east/north metres about an origin."""

    def __init__(self, lon, lat):
        self.lon0, self.lat0 = lon, lat
        s = math.sin(math.radians(lat))
        self.m0 = A * (1 - E2) / (1 - E2 * s * s) ** 1.5

    @staticmethod
    def _par(lat):
        s = math.sin(math.radians(lat))
        return A / math.sqrt(1 - E2 * s * s) * math.cos(math.radians(lat))

    def to_local(self, lon, lat):
        return (math.radians(lon - self.lon0) * self._par(lat), math.radians(lat - self.lat0) * self.m0)

    def to_wgs(self, x, y):
        lat = self.lat0 + math.degrees(y / self.m0)
        return [round(self.lon0 + math.degrees(x / self._par(lat)), 7), round(lat, 7)]


def feature(props, geom):
    return {"type": "Feature", "properties": props, "geometry": geom}


def write_layer(folder, name, feats):
    with open(os.path.join(folder, name), "w") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def ll(p):
    return f"({p[0]}, {p[1]})"


def write_manifest(folder, name, origin, parts, agencies, units, header=(), models_dir="../../assets/models"):
    """units: (id, agency, mode, home, shift, patrol) with WGS84 positions."""
    lines = [f"// {h}" for h in header] + ["(", f'    name: "{name}",', f"    origin: {ll(origin)},",
             f'    models_dir: "{models_dir}",', "    grid: (",
             f"        parts: [{', '.join(chr(34) + p + chr(34) for p in parts)}],", "        cell_size_m: 100.0,", "    ),",
             "    agencies: ["]
    lines += [f'        (key: "{k}", name: "{n}"),' for k, n in agencies]
    lines += ["    ],", "    units: ["]
    for uid, agency, mode, home, shift, patrol in units:
        lines.append(f'        (id: "{uid}", agency: "{agency}", mode: "{mode}", home: {ll(home)}, shift: "{shift}",')
        lines.append(f"            patrol: [{', '.join(ll(p) for p in patrol)}]),")
    lines += ["    ],", ")", ""]
    with open(os.path.join(folder, "scene.ron"), "w") as f:
        f.write("\n".join(lines))
