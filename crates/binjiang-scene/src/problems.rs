//! Problems found while loading a scene, each naming its file and place.
//!
//! The loader never stops at the first bad feature: it collects every problem so a GIS
//! developer can fix a whole file in one pass, and it never fixes anything silently.

use std::fmt;

/// How bad a problem is: errors make the scene unusable, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The scene cannot be used until this is fixed.
    Error,
    /// The scene loads, but a person should look at this.
    Warning,
}

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole.
    File,
    /// A syntax error at a line and column (1-based).
    Text {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A GeoJSON feature, by its id (or `#n`, its index, when it has none).
    Feature(String),
    /// A named item of the manifest, such as `unit "police-01"`.
    Item {
        /// What kind of item (`unit`, `agency`, `grid`).
        kind: &'static str,
        /// Its id.
        id: String,
    },
}

/// One thing wrong with a scene.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file's name inside the scene folder, e.g. `roads.geojson`.
    pub file: String,
    /// Where in the file.
    pub location: Location,
    /// What is wrong, in words a GIS developer can act on.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Warning {
            write!(f, "warning: ")?;
        }
        match &self.location {
            Location::File => write!(f, "{}: {}", self.file, self.message),
            Location::Text { line, column } => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
            Location::Feature(id) => write!(f, "{}: feature \"{id}\": {}", self.file, self.message),
            Location::Item { kind, id } => {
                write!(f, "{}: {kind} \"{id}\": {}", self.file, self.message)
            }
        }
    }
}

/// Problems collected while loading one scene.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    items: Vec<Problem>,
}

impl Problems {
    /// Records an error.
    pub fn error(&mut self, file: &str, location: Location, message: impl Into<String>) {
        self.push(Severity::Error, file, location, message.into());
    }

    /// Records a RON syntax error in `file` at the line and column RON reports.
    pub fn ron_syntax(&mut self, file: &str, e: &ron::error::SpannedError) {
        let at = Location::Text {
            line: e.span.start.line,
            column: e.span.start.col,
        };
        self.error(file, at, format!("malformed RON: {}", e.code));
    }

    /// Records a warning.
    pub fn warning(&mut self, file: &str, location: Location, message: impl Into<String>) {
        self.push(Severity::Warning, file, location, message.into());
    }

    fn push(&mut self, severity: Severity, file: &str, location: Location, message: String) {
        self.items.push(Problem {
            severity,
            file: file.to_owned(),
            location,
            message,
        });
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// How many problems are errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    /// Every problem, in the order found.
    pub fn all(&self) -> &[Problem] {
        &self.items
    }

    /// Only the warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.items
            .iter()
            .filter(|p| p.severity == Severity::Warning)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.items {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_each_location_as_documented() {
        let mut p = Problems::default();
        p.error("roads.geojson", Location::Feature("r-1".into()), "bad");
        p.error("scene.ron", Location::Text { line: 3, column: 7 }, "oops");
        p.warning("roads.geojson", Location::File, "split");
        let text = p.to_string();
        assert!(text.contains("roads.geojson: feature \"r-1\": bad"));
        assert!(text.contains("scene.ron:3:7: oops"));
        assert!(text.contains("warning: roads.geojson: split"));
        assert!(p.has_errors());
        assert_eq!(p.warnings().count(), 1);
    }
}
