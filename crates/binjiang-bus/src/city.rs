//! The city view: every district's twin publishes its KPIs to `binjiang.<district>.kpis`
//! (stream `BINJIANG_KPIS`, the last 10 per district kept a day); `binjiang city` reads the
//! latest of each and follows what comes next.

use crate::nats::{bus, connect, publish_stored, retrying, stream_of, BusError};
use async_nats::jetstream::{self, consumer, stream};
use binjiang_live::http::AppState;
use binjiang_protocol::Kpis;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::oneshot;

/// The stream of every district's KPIs.
pub const KPIS_STREAM: &str = "BINJIANG_KPIS";
/// Its subjects.
pub const KPIS_SUBJECTS: &str = "binjiang.*.kpis";

/// One district's KPIs as its twin published them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DistrictKpis {
    /// The district (scene folder name, the subject token).
    pub district: String,
    /// Its scene's name.
    pub name: String,
    /// The KPIs (as `GET /api/v1/kpis`).
    pub kpis: Kpis,
}

/// Creates the KPI stream if missing.
pub async fn kpis_stream(js: &jetstream::Context, url: &str) -> Result<stream::Stream, BusError> {
    stream_of(
        js,
        url,
        stream::Config {
            name: KPIS_STREAM.into(),
            subjects: vec![KPIS_SUBJECTS.into()],
            storage: stream::StorageType::File,
            max_messages_per_subject: 10,
            max_age: Duration::from_secs(24 * 3600),
            ..Default::default()
        },
    )
    .await
}

/// Publishes the twin's KPIs every `every` until `stop` fires; a lost bus is retried, and
/// the twin never waits for it.
pub async fn publish(
    url: String,
    district: String,
    every: Duration,
    state: AppState,
    mut stop: oneshot::Receiver<()>,
) {
    let name = state.scene.manifest.name.clone();
    let subject = crate::ingest::subject(&district, "kpis");
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut js = None;
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticks.tick() => {}
        }
        if js.is_none() {
            match connect(&url).await {
                Ok(c) => match kpis_stream(&c, &url).await {
                    Ok(_) => js = Some(c),
                    Err(e) => tracing::warn!(error = %e, "KPIs not published"),
                },
                Err(e) => tracing::warn!(error = %e, "KPIs not published"),
            }
        }
        let Some(c) = &js else { continue };
        let view = state.view();
        let message = DistrictKpis {
            district: district.clone(),
            name: name.clone(),
            kpis: view.kpis.clone(),
        };
        let body = serde_json::to_vec(&message).expect("plain data");
        let id = format!("{district}-{}", message.kpis.at);
        if let Err(e) = publish_stored(c, &url, subject.clone(), &id, body).await {
            tracing::warn!(error = %e, "KPIs not published");
            js = None;
        }
    }
}

/// Follows every district's KPIs on the bus at `url`: `update` gets the latest of each
/// district first once the stored ones are read, then after every newer message. Returns when
/// `update` returns false.
pub async fn follow(
    url: &str,
    mut update: impl FnMut(&BTreeMap<String, DistrictKpis>) -> bool,
) -> Result<(), BusError> {
    let js = connect(url).await?;
    let stream = retrying(|| kpis_stream(&js, url)).await?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::LastPerSubject,
            filter_subject: KPIS_SUBJECTS.into(),
            ..Default::default()
        })
        .await
        .map_err(|e| bus(url)(format!("KPI consumer: {e}")))?;
    let mut latest: BTreeMap<String, DistrictKpis> = BTreeMap::new();
    let mut caught_up = stream.cached_info().state.messages == 0;
    if caught_up && !update(&latest) {
        return Ok(());
    }
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| bus(url)(e.to_string()))?;
    while let Some(m) = messages.next().await {
        let m = m.map_err(|e| bus(url)(e.to_string()))?;
        match serde_json::from_slice::<DistrictKpis>(&m.payload) {
            Ok(k) => {
                latest.insert(k.district.clone(), k);
            }
            Err(e) => tracing::warn!(subject = %m.subject, error = %e, "unreadable KPIs"),
        }
        if !caught_up {
            caught_up = m.info().map(|i| i.pending == 0).unwrap_or(true);
        }
        if caught_up && !update(&latest) {
            return Ok(());
        }
    }
    Err(bus(url)("the KPI feed ended".into()))
}

/// The city table: one row per district and a total.
pub fn table(latest: &BTreeMap<String, DistrictKpis>) -> String {
    let mut out = format!(
        "{:<24} {:<20} {:>5} {:>6} {:>9} {:>9} {:>9} {:>8} {:>9}\n",
        "district",
        "clock",
        "open",
        "queued",
        "units",
        "incidents",
        "on site≤3",
        "p90 s",
        "clean≤10"
    );
    let pct = |s: Option<f64>| s.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0));
    let (mut open, mut queued, mut free, mut duty, mut incidents) = (0, 0, 0, 0, 0);
    let (mut reached, mut reported) = (0.0, 0usize);
    for (d, k) in latest {
        let now = &k.kpis;
        let q: usize = now.now_per_agency.values().map(|a| a.queued).sum();
        let f: usize = now.now_per_agency.values().map(|a| a.units_available).sum();
        let u: usize = now.now_per_agency.values().map(|a| a.units_on_duty).sum();
        let today = &now.today.all;
        out += &format!(
            "{:<24} {:<20} {:>5} {:>6} {:>9} {:>9} {:>9} {:>8} {:>9}\n",
            d,
            now.at.get(..19).unwrap_or(&now.at),
            now.open_incidents,
            q,
            format!("{f}/{u}"),
            today.incidents,
            pct(today.on_site_3min_share),
            now.today
                .response_p90_s
                .map_or("-".to_owned(), |v| format!("{v:.0}")),
            pct(today.cleaned_10min_share),
        );
        open += now.open_incidents;
        queued += q;
        free += f;
        duty += u;
        incidents += today.incidents;
        if let Some(s) = today.on_site_3min_share {
            reached += s * today.reported as f64;
            reported += today.reported;
        }
    }
    out += &format!(
        "{:<24} {:<20} {:>5} {:>6} {:>9} {:>9} {:>9} {:>8} {:>9}\n",
        format!("city ({} districts)", latest.len()),
        "",
        open,
        queued,
        format!("{free}/{duty}"),
        incidents,
        pct((reported > 0).then(|| reached / reported as f64)),
        "",
        ""
    );
    out
}
