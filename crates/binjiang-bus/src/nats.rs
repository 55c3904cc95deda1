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
    #[error("no result for {0:?}: are workers running (`binjiang worker --bus …`)?")]
    Stalled(Duration),
}

/// A [`BusError::Bus`] maker for `url`.
pub(crate) fn bus(url: &str) -> impl Fn(String) -> BusError + '_ {
    move |message| BusError::Bus {
        url: url.to_owned(),
        message,
    }
}

/// Connects to `url`, a server or a comma-separated list of a cluster's servers.
pub async fn connect(url: &str) -> Result<jetstream::Context, BusError> {
    let servers = url
        .split(',')
        .map(|u| u.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bus(url)(format!("cannot connect: not a server list: {e}")))?;
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
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
