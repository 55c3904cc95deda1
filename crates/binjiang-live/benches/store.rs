//! The writer's cost: one batch of observations committed with fsync (WAL, synchronous=FULL),
//! one at a time and eight queued together (group commit). `cargo bench -p binjiang-live`.

use binjiang_live::store::{Batch, ObservationRow, Writer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn batch(
    next: &mut u64,
    rows: usize,
) -> (
    Batch,
    tokio::sync::oneshot::Receiver<Result<(), std::sync::Arc<binjiang_live::store::StoreError>>>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let observations = (0..rows)
        .map(|k| {
            *next += 1;
            ObservationRow {
                id: *next,
                datastream: 1 + (*next % 449),
                phenomenon_ms: 1_795_000_000_000 + *next as i64,
                result_time_ms: 1_795_000_000_000 + *next as i64,
                result: (k % 100) as f64,
            }
        })
        .collect();
    (
        Batch {
            epoch: 1,
            observations,
            done: vec![tx],
            ..Batch::default()
        },
        rx,
    )
}

fn commits(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (writer, _thread) = Writer::start(&dir.path().join("bench.db"), 1024, None).unwrap();
    let mut next = 0u64;
    let mut group = c.benchmark_group("durable_commit");
    for (rows, batches) in [(1usize, 1usize), (1, 8), (1000, 1), (1000, 8)] {
        group.throughput(Throughput::Elements((rows * batches) as u64));
        group.bench_with_input(
            BenchmarkId::new(format!("{batches}x"), rows),
            &rows,
            |b, &rows| {
                b.iter(|| {
                    rt.block_on(async {
                        let mut waits = Vec::new();
                        for _ in 0..batches {
                            let (bt, rx) = batch(&mut next, rows);
                            writer.send(bt).await.unwrap();
                            waits.push(rx);
                        }
                        for w in waits {
                            w.await.unwrap().unwrap();
                        }
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = commits
}
criterion_main!(benches);
