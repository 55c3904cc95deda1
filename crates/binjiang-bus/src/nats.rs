//! The NATS plumbing every part of the bus shares: connecting to a server or a cluster,
//! replicated streams, and publishing that waits until the stream has stored a message.

use async_nats::jetstream::{self, stream};
use std::time::Duration;

/// Why something on the bus failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus could not be reached or refused something.
    #[error("bus {url}: {message}")]
    Bus {
        /// Where.
        url: String,
        /// What.
        message: String,
    },
    /// A worker could not run a job.
    #[error("a worker could not run {arm} seed {seed}: {message}")]
    Run {
        /// The arm.
        arm: String,
        /// The seed.
        seed: u64,
        /// Why.
        message: String,
    },
    /// No result came for too long.
    #[error(
        "no result for {waited:?} ({got} of {total} in): are workers running \
         (`binjiang worker --bus …`)?"
    )]
    Stalled {
        /// How long nothing came.
        waited: Duration,
        /// Results in so far.
        got: usize,
        /// Results expected.
        total: usize,
    },
}

/// A [`BusError::Bus`] maker for `url`: the URL and the message with any credentials in the
/// URL blanked out (errors are printed and logged).
pub(crate) fn bus(url: &str) -> impl Fn(String) -> BusError + '_ {
    move |message| BusError::Bus {
        url: redact(url),
        message: scrub(&message, url),
    }
}

/// `url` (a server or a comma-separated list) with any `user:password@` or `token@` blanked
/// out, for printing: credentials belong in the environment (see [`BusAuth`]), and a URL
/// that carries them anyway is never printed whole.
pub fn redact(url: &str) -> String {
    url.split(',')
        .map(|server| {
            let server = server.trim();
            match (server.split_once("://"), server.rfind('@')) {
                (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &server[at..]),
                (None, Some(at)) => format!("***{}", &server[at..]),
                _ => server.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `text` with every credential `url` carries replaced by `***`.
fn scrub(text: &str, url: &str) -> String {
    let mut text = text.to_owned();
    for server in url.split(',') {
        let rest = server.trim().split_once("://").map_or(server, |(_, r)| r);
        if let Some((userinfo, _)) = rest.rsplit_once('@') {
            for secret in userinfo.split(':').filter(|s| !s.is_empty()) {
                text = text.replace(secret, "***");
            }
        }
    }
    text
}

/// How the bus is told who we are: from the environment (files for what should not be in
/// it), never from the command line, whose words every user of the machine can read in `ps`:
///
/// - `BINJIANG_NATS_USER` with `BINJIANG_NATS_PASSWORD` or `BINJIANG_NATS_PASSWORD_FILE`;
/// - `BINJIANG_NATS_TOKEN` or `BINJIANG_NATS_TOKEN_FILE`;
/// - `BINJIANG_NATS_CREDS`: a `.creds` file (JWT and NKey seed, as `nsc` writes it);
/// - `BINJIANG_NATS_CA`: a CA certificate (PEM) to trust, which also requires TLS;
///   `BINJIANG_NATS_CERT` and `BINJIANG_NATS_KEY`: a client certificate for mutual TLS.
///
/// Its `Debug` shows which are set, never their values.
#[derive(Clone, Default)]
pub struct BusAuth {
    user_password: Option<(String, String)>,
    token: Option<String>,
    creds: Option<std::path::PathBuf>,
    ca: Option<std::path::PathBuf>,
    client_cert: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl std::fmt::Debug for BusAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusAuth")
            .field("user", &self.user_password.as_ref().map(|(u, _)| u))
            .field("password", &self.user_password.as_ref().map(|_| "***"))
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("creds", &self.creds)
            .field("ca", &self.ca)
            .field("client_cert", &self.client_cert)
            .finish()
    }
}

impl BusAuth {
    /// Reads the `BINJIANG_NATS_*` variables (see the type's documentation).
    pub fn from_env() -> Result<Self, BusError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// As [`BusAuth::from_env`], from any source of variables (tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, BusError> {
        let refuse = |m: String| BusError::Bus {
            url: "(credentials)".into(),
            message: m,
        };
        let secret = |value: &str, file: &str| -> Result<Option<String>, BusError> {
            match (var(value), var(file)) {
                (Some(v), _) => Ok(Some(v)),
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_owned()))
                    .map_err(|e| refuse(format!("{file}: cannot read {path}: {e}"))),
                (None, None) => Ok(None),
            }
        };
        let password = secret("BINJIANG_NATS_PASSWORD", "BINJIANG_NATS_PASSWORD_FILE")?;
        let user_password = match (var("BINJIANG_NATS_USER"), password) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(refuse(
                    "BINJIANG_NATS_USER is set without BINJIANG_NATS_PASSWORD(_FILE)".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(refuse(
                    "a NATS password is set without BINJIANG_NATS_USER".into(),
                ))
            }
        };
        let path = |k: &str| var(k).map(std::path::PathBuf::from);
        let client_cert = match (path("BINJIANG_NATS_CERT"), path("BINJIANG_NATS_KEY")) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => {
                return Err(refuse(
                    "BINJIANG_NATS_CERT and BINJIANG_NATS_KEY go together".into(),
                ))
            }
        };
        Ok(BusAuth {
            user_password,
            token: secret("BINJIANG_NATS_TOKEN", "BINJIANG_NATS_TOKEN_FILE")?,
            creds: path("BINJIANG_NATS_CREDS"),
            ca: path("BINJIANG_NATS_CA"),
            client_cert,
        })
    }

    /// Applies itself to connection options.
    async fn apply(
        &self,
        mut options: async_nats::ConnectOptions,
        url: &str,
    ) -> Result<async_nats::ConnectOptions, BusError> {
        if let Some((u, p)) = &self.user_password {
            options = options.user_and_password(u.clone(), p.clone());
        }
        if let Some(t) = &self.token {
            options = options.token(t.clone());
        }
        if let Some(path) = &self.creds {
            options = options
                .credentials_file(path)
                .await
                .map_err(|e| bus(url)(format!("BINJIANG_NATS_CREDS {}: {e}", path.display())))?;
        }
        if let Some(ca) = &self.ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some((cert, key)) = &self.client_cert {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        Ok(options)
    }
}

/// Connects to `url`, a server or a comma-separated list of a cluster's servers, with the
/// credentials of [`BusAuth::from_env`].
pub async fn connect(url: &str) -> Result<jetstream::Context, BusError> {
    let servers = url
        .split(',')
        .map(|u| u.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bus(url)(format!("cannot connect: not a server list: {e}")))?;
    let options = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    let options = BusAuth::from_env()?.apply(options, url).await?;
    let client = options
        .connect(servers)
        .await
        .map_err(|e| bus(url)(format!("cannot connect: {e}")))?;
    Ok(jetstream::new(client))
}

/// Creates stream `config` if missing: replicated on 3 servers where the bus is a cluster
/// (a single server refuses replicas, and gets one copy).
pub async fn stream_of(
    js: &jetstream::Context,
    url: &str,
    config: stream::Config,
) -> Result<stream::Stream, BusError> {
    let replicated = stream::Config {
        num_replicas: 3,
        ..config.clone()
    };
    let created = match js.get_or_create_stream(replicated).await {
        Ok(s) => s,
        // "replicas > 1 not supported in non-clustered mode": one server, one copy.
        Err(e) if e.to_string().contains("replicas") => js
            .get_or_create_stream(config.clone())
            .await
            .map_err(|e| bus(url)(format!("stream {}: {e}", config.name)))?,
        Err(e) => return Err(bus(url)(format!("stream {}: {e}", config.name))),
    };
    // A replicated stream takes writes only once its own group has elected a leader (the
    // info just fetched says; a retry fetches it again).
    if created
        .cached_info()
        .cluster
        .as_ref()
        .is_some_and(|c| c.leader.is_none())
    {
        return Err(bus(url)(format!(
            "stream {} has no leader yet",
            config.name
        )));
    }
    Ok(created)
}

/// Publishes `payload` on `subject` and waits until the stream has stored it. A cluster that
/// is electing a stream leader answers "no responders" or nothing for a moment: the publish is
/// retried for up to 30 s under the same message id, so the stream keeps one copy.
pub async fn publish_stored(
    js: &jetstream::Context,
    url: &str,
    subject: String,
    id: &str,
    payload: Vec<u8>,
) -> Result<jetstream::publish::PublishAck, BusError> {
    use async_nats::jetstream::context::PublishErrorKind as Kind;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let message = async_nats::jetstream::message::PublishMessage::build()
            .payload(payload.clone().into())
            .message_id(id);
        let stored = match js.send_publish(subject.clone(), message).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match stored {
            Ok(ack) => return Ok(ack),
            Err(e)
                if matches!(e.kind(), Kind::StreamNotFound | Kind::TimedOut)
                    && tokio::time::Instant::now() < deadline =>
            {
                tracing::warn!("{subject}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(bus(url)(format!("{subject} not stored: {e}"))),
        }
    }
}

/// Retries `setup` for 30 s: a cluster that has just started or lost a leader answers "no
/// responders" until it elects one.
pub async fn retrying<T, Fut>(mut setup: impl FnMut() -> Fut) -> Result<T, BusError>
where
    Fut: std::future::Future<Output = Result<T, BusError>>,
{
    let mut tries = 0;
    loop {
        match setup().await {
            Ok(s) => return Ok(s),
            Err(e) if tries < 60 => {
                tracing::warn!("{e}; retrying");
                tries += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_url_are_never_printed() {
        let url = "nats://alice:s3cret@h1:4222, nats://tok3n@h2:4222,nats://h3:4222";
        let shown = redact(url);
        assert_eq!(
            shown,
            "nats://***@h1:4222,nats://***@h2:4222,nats://h3:4222"
        );
        let e = bus(url)(format!("cannot connect to {url}: refused"));
        let text = e.to_string();
        for secret in ["s3cret", "tok3n", "alice"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn auth_comes_from_variables_and_files_and_never_shows() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-a-file\n").unwrap();
        let vars = |pairs: Vec<(&'static str, String)>| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        };
        let a = BusAuth::from_vars(vars(vec![
            ("BINJIANG_NATS_USER", "alice".into()),
            ("BINJIANG_NATS_PASSWORD_FILE", file.display().to_string()),
        ]))
        .unwrap();
        assert_eq!(
            a.user_password,
            Some(("alice".into(), "from-a-file".into()))
        );
        assert!(!format!("{a:?}").contains("from-a-file"));
        assert!(BusAuth::from_vars(vars(vec![("BINJIANG_NATS_USER", "bob".into())])).is_err());
        let missing = BusAuth::from_vars(vars(vec![(
            "BINJIANG_NATS_TOKEN_FILE",
            "/no/such/file".into(),
        )]))
        .unwrap_err()
        .to_string();
        assert!(missing.contains("BINJIANG_NATS_TOKEN_FILE"), "{missing}");
    }
}
