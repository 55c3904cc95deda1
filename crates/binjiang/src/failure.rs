//! The one error type of the command line, and the exit code of each kind: a script that
//! runs `binjiang` tells "fix your input" (1) from "fix your command" (2) from "something
//! failed while running, try again" (3) without reading the text.

/// Why a command failed. Commands return `anyhow::Error`; those that know the kind say it
/// with a `Failure` (see [`usage`]), and [`Failure::classify`] sorts the rest by their cause.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The input (a scene, scenario, CSV, database) is invalid: exit 1.
    #[error("{}", chain_text(.0))]
    Invalid(anyhow::Error),
    /// The command line is wrong, or a path it names cannot be read: exit 2.
    #[error("{0}")]
    Usage(String),
    /// A path cannot be read (missing, not permitted): exit 2.
    #[error("{}", chain_text(.0))]
    Unreadable(anyhow::Error),
    /// Something failed while running (a service, the bus, a disk, the network): exit 3.
    #[error("{}", chain_text(.0))]
    Runtime(anyhow::Error),
}

impl Failure {
    /// The documented exit code.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Invalid(_) => 1,
            Failure::Usage(_) | Failure::Unreadable(_) => 2,
            Failure::Runtime(_) => 3,
        }
    }

    /// Sorts an error by what caused it: a `Failure` a command chose, an unreadable scene or
    /// a missing file, else a failure while running.
    pub fn classify(e: anyhow::Error) -> Failure {
        let e = match e.downcast::<Failure>() {
            Ok(f) => return f,
            Err(e) => e,
        };
        let unreadable = e.chain().any(|cause| {
            matches!(
                cause.downcast_ref::<binjiang_scene::LoadError>(),
                Some(binjiang_scene::LoadError::Unreadable { .. })
            ) || cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::NotFound
                        | std::io::ErrorKind::PermissionDenied
                        | std::io::ErrorKind::IsADirectory
                        | std::io::ErrorKind::NotADirectory
                )
            })
        });
        if unreadable {
            Failure::Unreadable(e)
        } else {
            Failure::Runtime(e)
        }
    }
}

/// An error and its causes on one line, each cause said once: errors that already print
/// their source (as `thiserror`'s `{source}` does) are not followed by it again.
fn chain_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let said = cause.to_string();
        if !text.contains(&said) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&said);
        }
    }
    text
}

/// A usage error (exit 2) as an `anyhow::Error`, for `return Err(usage(…))`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Failure::Usage(message.into()).into()
}

/// An invalid input (exit 1) as an `anyhow::Error`.
pub fn invalid(e: impl Into<anyhow::Error>) -> anyhow::Error {
    Failure::Invalid(e.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_documented_code() {
        assert_eq!(Failure::classify(usage("--x")).code(), 2);
        assert_eq!(
            Failure::classify(invalid(anyhow::anyhow!("bad row"))).code(),
            1
        );
        let missing = std::fs::read("/no/such/file").unwrap_err();
        let missing = Failure::classify(anyhow::Error::from(missing).context("cannot read x"));
        assert_eq!(missing.code(), 2);
        assert_eq!(
            missing.to_string().matches("No such file").count(),
            1,
            "the OS error once: {missing}"
        );
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "no bus");
        assert_eq!(
            Failure::classify(anyhow::Error::from(refused).context("the bus")).code(),
            3
        );
    }
}
