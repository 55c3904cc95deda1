//! OpenStreetMap extracts turned into Binjiang scenes.
//!
//! `import` reads a `.osm.pbf` or `.osm` XML file in three streaming passes (relations, then
//! the ways they and the tags need, then only the nodes those ways use), maps tags to the
//! scene vocabulary, assembles multipolygons, clips to a bounding box, writes a scene folder,
//! deploys a stated default set of units on the imported network, and checks the result
//! with the same loader `binjiang validate` uses.

pub mod deploy;
pub mod elements;
pub mod extent;
mod geometry;
pub mod import;
pub mod mapping;
pub mod rings;

pub use extent::{Bbox, ImportReport};
pub use import::{import, ImportOptions};

use std::path::PathBuf;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input cannot be opened or read.
    #[error("cannot read {0}: {1}")]
    Unreadable(PathBuf, std::io::Error),
    /// The input is not a well-formed OSM file.
    #[error("{0}: {1}")]
    Malformed(PathBuf, String),
    /// A bad `--bbox`.
    #[error("--bbox {0}")]
    Bbox(String),
    /// Nothing usable inside the bounding box.
    #[error("no roads inside the bounding box {0}: is it the right place (W,S,E,N in degrees)?")]
    NoData(String),
    /// Writing the scene failed.
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    /// The written scene does not validate (a bug in the importer: please report it).
    #[error("the imported scene does not validate:\n{0}")]
    Invalid(String),
}
