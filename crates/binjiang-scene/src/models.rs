//! glTF models referenced by buildings: parsed with the `gltf` crate and checked for sane
//! bounds, so a broken file is caught by `validate` rather than by the wall display.

use std::path::Path;

/// Models larger than this on any axis are rejected (wrong units, most likely millimetres).
const MAX_EXTENT_M: f32 = 1000.0;
/// Models smaller than this on every axis are rejected (wrong units, most likely kilometres).
const MIN_EXTENT_M: f32 = 0.05;

/// What validation learnt about one model file.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// File name relative to the models folder.
    pub file: String,
    /// Number of triangles over all primitives.
    pub triangles: usize,
    /// Axis-aligned bounds `[min, max]` in model metres (glTF: Y up).
    pub bounds: [[f32; 3]; 2],
}

/// Loads `path` and checks it has geometry with sane bounds.
pub fn inspect(path: &Path, file: &str) -> Result<ModelInfo, String> {
    let (doc, _buffers, _images) =
        gltf::import(path).map_err(|e| format!("model \"{file}\" cannot be loaded: {e}"))?;
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    let mut triangles = 0;
    for mesh in doc.meshes() {
        for prim in mesh.primitives() {
            let bb = prim.bounding_box();
            for i in 0..3 {
                min[i] = min[i].min(bb.min[i]);
                max[i] = max[i].max(bb.max[i]);
            }
            let count = prim
                .indices()
                .map(|a| a.count())
                .or_else(|| prim.get(&gltf::Semantic::Positions).map(|a| a.count()));
            triangles += count.unwrap_or(0) / 3;
        }
    }
    if triangles == 0 {
        return Err(format!("model \"{file}\" has no triangles"));
    }
    let extent: Vec<f32> = (0..3).map(|i| max[i] - min[i]).collect();
    if extent.iter().any(|e| !e.is_finite() || *e > MAX_EXTENT_M)
        || extent.iter().all(|e| *e < MIN_EXTENT_M)
    {
        return Err(format!("model \"{file}\" has implausible bounds {min:?}..{max:?} (metres expected, 5 cm to 1 km)"));
    }
    Ok(ModelInfo {
        file: file.to_owned(),
        triangles,
        bounds: [min, max],
    })
}
