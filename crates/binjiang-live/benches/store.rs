//! The writer's cost: batches of observations committed with fsync (WAL, synchronous=FULL),
//! one at a time and eight queued together (group commit); rows on one Datastream per batch,
//! or each row on another of 449 (the worst case for the (datastream, time) index).
//! `cargo bench -p binjiang-live`.

use binjiang_live::store::{Batch, ObservationRow, StoreError, Writer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use tokio::sync::oneshot;

type Done = oneshot::Receiver<Result<(), Arc<StoreError>>>;

fn batch(next: &mut u64, rows: usize, interleaved: bool) -> (Batch, Done) {
    let (tx, rx) = oneshot::channel();
    let observations = (0..rows)
        .map(|k| {
            *next += 1;
            let stream = if interleaved {
                *next % 449
            } else {
                *next / 1000 % 449
            };
            ObservationRow {
                id: *next,
                datastream: 1 + stream,
                phenomenon_ms: 1_795_000_000_000 + *next as i64,
                result_time_ms: 1_795_000_000_000 + *next as i64,
                result: (k % 100) as f64,
            }
        })
        .collect();
    let b = Batch {
        epoch: 1,
        observations,
        done: vec![tx],
        ..Batch::default()
    };
    (b, rx)
}

fn commits(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (writer, _thread) =
        Writer::start(&dir.path().join("bench.db"), 1024, None, Arc::default()).unwrap();
    let mut next = 0u64;
    let mut group = c.benchmark_group("durable_commit");
    let cases = [
        (1usize, 1usize, false),
        (1, 8, false),
        (1000, 1, false),
        (1000, 8, false),
        (1000, 1, true),
        (1000, 8, true),
    ];
    for (rows, batches, interleaved) in cases {
        group.throughput(Throughput::Elements((rows * batches) as u64));
        let name = format!(
            "{batches}x{}",
            if interleaved { "_interleaved" } else { "" }
        );
        group.bench_with_input(BenchmarkId::new(name, rows), &rows, |b, &rows| {
            b.iter(|| {
                rt.block_on(async {
                    let mut waits = Vec::new();
                    for _ in 0..batches {
                        let (bt, rx) = batch(&mut next, rows, interleaved);
                        writer.send(bt).await.unwrap();
                        waits.push(rx);
                    }
                    for w in waits {
                        w.await.unwrap().unwrap();
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = commits
}
criterion_main!(benches);
