//! `latent_tsne.png`: a seeded t-SNE map of the test codes, beside the PCA scatter
//! (`latent_scatter.png`) for codes wider than two dimensions. PCA keeps distances but only
//! the two directions of largest variance; t-SNE keeps neighbourhoods, so digits that share no
//! principal direction still form their own clusters. Computed by the `bhtsne` crate
//! (Barnes-Hut), from an initial embedding drawn from the experiment seed, so a report draws the
//! same map every time.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};

use crate::error::ReportError;
use crate::figures::latent_scatter::scatter_png;
use crate::figures::{Context, Output};

/// File name in `plots/`.
pub const FILE: &str = "latent_tsne.png";
/// At most this many test codes (the first ones) are mapped: t-SNE's cost grows faster than
/// the number of points, and 2,000 digits show the clusters.
pub const MAX_POINTS: usize = 2000;
/// The perplexity (effective number of neighbours), t-SNE's usual default; smaller for fewer
/// points, since it must stay below a third of them.
pub const PERPLEXITY: f32 = 30.0;
/// Gradient steps.
pub const EPOCHS: usize = 1000;
/// Barnes-Hut accuracy (0: exact; 0.5, the usual trade-off).
pub const THETA: f32 = 0.5;

/// The 2-D t-SNE map of `points` (`dim` values each), from an initial embedding drawn from
/// `seed`: the same input and seed give the same map.
pub fn tsne(values: &[f32], dim: usize, seed: u64) -> Vec<(f64, f64)> {
    let samples: Vec<&[f32]> = values.chunks(dim).collect();
    let n = samples.len();
    let perplexity = PERPLEXITY.min(((n as f32 - 1.0) / 3.0).max(1.0));
    // The usual start: N(0, 1e-4) per coordinate.
    let mut rng = StdRng::seed_from_u64(seed);
    let normal = Normal::new(0.0f32, 1e-2).expect("a valid normal distribution");
    let start: Vec<f32> = (0..2 * n).map(|_| normal.sample(&mut rng)).collect();
    // bhtsne sums its gradients on rayon's threads, in an order that depends on how the work was
    // split: one thread makes the map the same from run to run, whatever the machine's load.
    let run = || {
        let mut fit = bhtsne::tSNE::<f32, &[f32], 2>::new(&samples);
        fit.perplexity(perplexity).epochs(EPOCHS).initial_embedding(start).barnes_hut(THETA, |a, b| {
            a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
        });
        fit.embedding().chunks(2).map(|p| (p[0] as f64, p[1] as f64)).collect()
    };
    match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}

/// Draws the figure for autoencoders whose codes have more than two dimensions.
pub fn render(ctx: &Context<'_>, out: &mut Output) -> Result<(), ReportError> {
    let Some(codes) = &ctx.codes else {
        out.skip(FILE, "the model is a classifier: it has no latent code");
        return Ok(());
    };
    if codes.dim <= 2 {
        out.skip(FILE, format!("the latent code has {} dimension(s): latent_scatter.png shows it as it is", codes.dim));
        return Ok(());
    }
    let n = codes.len().min(MAX_POINTS);
    if n < 10 {
        out.skip(FILE, format!("{n} test codes are too few for a t-SNE map"));
        return Ok(());
    }
    let seed = mnist_data::derive_seed(ctx.seed(), "report-tsne", 0);
    let points = tsne(&codes.values[..n * codes.dim], codes.dim, seed);
    let title = format!("t-SNE of the first {n} test codes ({}-D)", codes.dim);
    let png = scatter_png(ctx, FILE, &title, "t-SNE 1", "t-SNE 2", &points, &codes.labels[..n], false)?;
    out.figure(
        FILE,
        "Latent space, t-SNE",
        format!(
            "{title}, coloured by digit: perplexity {:.0}, {EPOCHS} iterations, seeded from the experiment seed. Neighbourhoods are kept, not distances: the size of a cluster and the gaps between clusters mean little.",
            PERPLEXITY.min(((n as f32 - 1.0) / 3.0).max(1.0))
        ),
        png,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated blobs in 5-D, 20 points each.
    fn blobs() -> (Vec<f32>, Vec<u8>) {
        let mut rng = StdRng::seed_from_u64(3);
        let noise = Normal::new(0.0f32, 0.1).unwrap();
        let mut values = Vec::new();
        let mut labels = Vec::new();
        for c in 0..3u8 {
            for _ in 0..20 {
                for d in 0..5 {
                    let centre = if d == c as usize { 10.0 } else { 0.0 };
                    values.push(centre + noise.sample(&mut rng));
                }
                labels.push(c);
            }
        }
        (values, labels)
    }

    #[test]
    fn the_map_is_seeded_and_keeps_clusters_apart() {
        let (values, labels) = blobs();
        let a = tsne(&values, 5, 11);
        assert_eq!(a.len(), 60);
        assert_eq!(a, tsne(&values, 5, 11), "the same seed draws the same map");
        assert_ne!(a, tsne(&values, 5, 12), "another seed another start");
        // Every point is nearer its own cluster's centre than any other's.
        let centre = |c: u8| {
            let pts: Vec<&(f64, f64)> = a.iter().zip(&labels).filter(|(_, l)| **l == c).map(|(p, _)| p).collect();
            (pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64, pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64)
        };
        let centres: Vec<(f64, f64)> = (0..3).map(centre).collect();
        for (p, &l) in a.iter().zip(&labels) {
            let d = |c: &(f64, f64)| (p.0 - c.0).hypot(p.1 - c.1);
            let own = d(&centres[l as usize]);
            assert!(centres.iter().enumerate().all(|(i, c)| i == l as usize || d(c) > own), "{p:?} of cluster {l}");
        }
    }
}
