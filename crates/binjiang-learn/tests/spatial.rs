//! Does the density recover where things happen? Events drawn on a 30 × 10 cell grid from a
//! smooth background plus two hot places (a mall and a pier, 15 % of events each): the hot
//! cells are not washed out, the background is smooth, and the mixture beats either part
//! alone on held-out events.

use binjiang_learn::spatial::{density_with, learn, loglik, Cell};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn grid() -> Vec<Cell> {
    (0..10)
        .flat_map(|row| (0..30).map(move |col| Cell { col, row }))
        .collect()
}

/// The true shares: a smooth bump along the strip, and two hot cells.
fn truth(cells: &[Cell]) -> Vec<f64> {
    let mut p: Vec<f64> = cells
        .iter()
        .map(|c| (-(f64::from(c.col) - 12.0).powi(2) / 60.0).exp() * (1.0 + 0.1 * f64::from(c.row)))
        .collect();
    let s: f64 = p.iter().sum();
    for v in &mut p {
        *v *= 0.7 / s;
    }
    p[3 * 30 + 25] += 0.15; // the pier
    p[7 * 30 + 5] += 0.15; // the mall
    p
}

fn draw(p: &[f64], n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = WeightedIndex::new(p).unwrap();
    (0..n).map(|_| d.sample(&mut rng)).collect()
}

#[test]
fn hot_places_keep_their_share_and_the_background_is_smooth() {
    let cells = grid();
    let p = truth(&cells);
    let events = draw(&p, 2000, 1);
    let d = learn(&cells, &events, 100.0, &[]).unwrap();
    assert!((d.share.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    for hot in [3 * 30 + 25, 7 * 30 + 5] {
        let got = d.share[hot];
        assert!(
            got > 0.135,
            "a hot cell keeps its share: {got} (truth {})",
            p[hot]
        );
    }
    assert!(d.raw_weight > 0.0, "some raw share kept: {d:?}");
    // The background: mean absolute error well under the cells' mean share.
    let background: Vec<usize> = (0..cells.len())
        .filter(|i| ![3 * 30 + 25, 7 * 30 + 5].contains(i))
        .collect();
    let mae = background
        .iter()
        .map(|&i| (d.share[i] - p[i]).abs())
        .sum::<f64>()
        / background.len() as f64;
    let mean = background.iter().map(|&i| p[i]).sum::<f64>() / background.len() as f64;
    assert!(
        mae < 0.5 * mean,
        "background error {mae} vs mean share {mean}"
    );
}

#[test]
fn the_mixture_beats_a_pure_kernel_and_raw_shares_on_new_events() {
    let cells = grid();
    let p = truth(&cells);
    let (mut mixed, mut kernel, mut raw) = (0.0, 0.0, 0.0);
    for seed in 1..=5 {
        let past = draw(&p, 600, seed);
        let future = draw(&p, 600, 100 + seed);
        let d = learn(&cells, &past, 100.0, &[]).unwrap();
        mixed += loglik(&d.share, &future);
        kernel += loglik(
            &density_with(&cells, &past, d.bandwidth_m / 100.0, 0.0),
            &future,
        );
        raw += loglik(&density_with(&cells, &past, 1.0, 1.0), &future);
    }
    assert!(mixed > kernel, "mixture {mixed} vs kernel alone {kernel}");
    assert!(mixed > raw, "mixture {mixed} vs raw shares {raw}");
}

/// A sensor type arises only where its sensors are: with few events, the asset register's
/// places as a prior beat the data alone on new events, and a wrong prior is given (almost)
/// no weight.
#[test]
fn a_prior_of_known_places_helps_and_a_wrong_one_is_ignored() {
    let cells = grid();
    let sensors: Vec<usize> = (0..20).map(|k| (k * 37) % cells.len()).collect();
    let mut p = vec![0.0; cells.len()];
    for s in &sensors {
        p[*s] = 1.0 / sensors.len() as f64;
    }
    let mut wrong = vec![0.0; cells.len()];
    for k in 0..20 {
        wrong[(k * 37 + 11) % cells.len()] = 1.0;
    }
    let (mut with, mut without, mut misled) = (0.0, 0.0, 0.0);
    for seed in 1..=5 {
        let past = draw(&p, 60, seed);
        let future = draw(&p, 300, 100 + seed);
        let a = learn(&cells, &past, 100.0, &p).unwrap();
        assert!(a.prior_weight > 0.0, "{a:?}");
        with += loglik(&a.share, &future);
        without += loglik(&learn(&cells, &past, 100.0, &[]).unwrap().share, &future);
        let b = learn(&cells, &past, 100.0, &wrong).unwrap();
        assert!(
            b.prior_weight <= 0.25,
            "a wrong prior weighs {}",
            b.prior_weight
        );
        misled += loglik(&b.share, &future);
    }
    assert!(with > without, "with the prior {with}, without {without}");
    assert!(
        misled > without - 0.05 * without.abs(),
        "wrong prior {misled} vs none {without}"
    );
}
