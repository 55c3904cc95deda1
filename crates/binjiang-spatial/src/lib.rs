//! Spatial indexes of the district: static assets, moving units and open incidents.
//!
//! Dispatch asks "which available police unit is nearest?", sensors ask "which cameras see
//! this point?", the wall display asks "what is in this grid cell?". Static points are
//! R-trees (rstar); dispatch's moving units and waiting parts, which come, go and move
//! thousands of times an hour, are uniform grids of squares sized to their density
//! ([`ClassedIndex`]). All answer here and nowhere else, on points in local metres.
//!
//! ```
//! use binjiang_spatial::PointIndex;
//! let index: PointIndex<&str> = PointIndex::bulk_load(vec![([0.0, 0.0], "bin"), ([10.0, 0.0], "camera"), ([3.0, 4.0], "bin")]);
//! let near = index.nearest_matching([9.0, 0.0], 1, |k| *k == "bin");
//! assert_eq!(near[0].position, [3.0, 4.0]);
//! ```

mod cells;
mod classed;
mod point_index;

pub use classed::{ClassedIndex, ObjectId};
pub use point_index::{AssetIndex, AssetParams, DispatchParams, Hit, PointIndex};
