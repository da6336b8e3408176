//! Statistical and reproducibility checks of the noise generators, the normalizations, the
//! validation split and the device batches.

use burn::prelude::*;
use mnist_data::{
    DataError, DeviceSplit, GaussianNoise, Images, NormStats, Normalization, Noise, SaltAndPepperNoise, Split,
    derive_seed,
};

fn split(n: usize, rows: usize, cols: usize, f: impl Fn(usize) -> u8) -> Split {
    Split {
        channels: 1,
        rows,
        cols,
        pixels: (0..n * rows * cols).map(f).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
    }
}

#[test]
fn salt_and_pepper_replaces_about_level_of_the_pixels_half_each_way() {
    let n = 200_000;
    let mut x = vec![0.5f32; n];
    let noise = Noise::SaltAndPepper(SaltAndPepperNoise { level: 0.3 });
    noise.apply(&mut x, (-1.0, 2.0), 7);
    let low = x.iter().filter(|&&v| v == -1.0).count() as f64 / n as f64;
    let high = x.iter().filter(|&&v| v == 2.0).count() as f64 / n as f64;
    let untouched = x.iter().filter(|&&v| v == 0.5).count() as f64 / n as f64;
    assert!((low + high - 0.3).abs() < 0.005, "replaced {}", low + high);
    assert!((low - 0.15).abs() < 0.005 && (high - 0.15).abs() < 0.005, "low {low} high {high}");
    assert!((untouched - 0.7).abs() < 0.005);
}

#[test]
fn gaussian_noise_has_the_requested_mean_and_std_before_clipping() {
    let n = 200_000;
    let mut x = vec![1.0f32; n];
    let noise = Noise::Gaussian(GaussianNoise { factor: 0.5, mean: 0.4, std: 2.0, clip: false });
    noise.apply(&mut x, (0.0, 1.0), 3);
    let d: Vec<f64> = x.iter().map(|&v| v as f64 - 1.0).collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let std = (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    // factor * N(0.4, 2.0) has mean 0.2 and std 1.0.
    assert!((mean - 0.2).abs() < 0.01, "mean {mean}");
    assert!((std - 1.0).abs() < 0.01, "std {std}");
    assert!(x.iter().any(|&v| !(0.0..=1.0).contains(&v)), "unclipped noise leaves the range");
}

#[test]
fn clipped_gaussian_noise_stays_in_the_pixel_range() {
    let mut x = vec![0.5f32; 10_000];
    let noise = Noise::Gaussian(GaussianNoise { factor: 1.0, mean: 0.5, std: 0.5, clip: true });
    noise.apply(&mut x, (0.0, 1.0), 1);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(x.iter().filter(|&&v| v == 1.0).count() > 1000, "about half saturate at 1");
}

#[test]
fn the_same_seed_gives_the_same_noise_and_another_seed_does_not() {
    for noise in [
        Noise::Gaussian(GaussianNoise::default()),
        Noise::SaltAndPepper(SaltAndPepperNoise { level: 0.5 }),
    ] {
        let (mut a, mut b, mut c) = (vec![0.3f32; 1000], vec![0.3f32; 1000], vec![0.3f32; 1000]);
        noise.apply(&mut a, (0.0, 1.0), 42);
        noise.apply(&mut b, (0.0, 1.0), 42);
        noise.apply(&mut c, (0.0, 1.0), 43);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
    assert_ne!(derive_seed(1, "noise-train", 0), derive_seed(1, "noise-train", 1));
    assert_ne!(derive_seed(1, "noise-train", 0), derive_seed(1, "shuffle", 0));
    assert_eq!(derive_seed(9, "shuffle", 3), derive_seed(9, "shuffle", 3));
}

#[test]
fn noise_parameters_are_validated() {
    let bad = Noise::SaltAndPepper(SaltAndPepperNoise { level: 1.5 });
    assert!(matches!(bad.validate(), Err(DataError::InvalidSetting { field: "noise.level", .. })));
    let bad = Noise::Gaussian(GaussianNoise { std: -1.0, ..Default::default() });
    assert!(matches!(bad.validate(), Err(DataError::InvalidSetting { field: "noise.std", .. })));
    assert!(Noise::SaltAndPepper(SaltAndPepperNoise { level: 1.0 }).validate().is_ok());
}

#[test]
fn standardization_uses_training_statistics_only() {
    let train = split(10, 2, 2, |i| (i % 4 * 10) as u8); // pixels 0, 10, 20, 30
    let test = split(10, 2, 2, |_| 200);
    let stats = NormStats::fit(Normalization::Standardize, &train);
    assert!((stats.offset - 15.0).abs() < 1e-5);
    assert!((stats.scale - 125f32.sqrt()).abs() < 1e-4);
    // Test pixels go through the training transform, not their own (which would give 0).
    let z = stats.apply(&test.pixels);
    assert!((z[0] - (200.0 - 15.0) / 125f32.sqrt()).abs() < 1e-4);
    let (low, high) = stats.range();
    assert!((low - stats.apply_one(0.0)).abs() < 1e-6 && high > 2.0);
    assert!((stats.to_unit(stats.apply_one(51.0)) - 0.2).abs() < 1e-6);

    let mm = NormStats::fit(Normalization::MinMax, &train);
    assert_eq!((mm.offset, mm.scale), (0.0, 30.0));
    let unit = NormStats::fit(Normalization::Unit, &test);
    assert_eq!(unit.apply(&[255, 0]), vec![1.0, 0.0]);
}

#[test]
fn the_validation_split_is_seeded_disjoint_and_complete() {
    let data = split(100, 1, 1, |i| i as u8);
    let (train, val) = data.split_validation(0.2, 5).unwrap();
    assert_eq!((train.len(), val.len()), (80, 20));
    let (train2, val2) = data.split_validation(0.2, 5).unwrap();
    assert_eq!((&train, &val), (&train2, &val2));
    let (_, val3) = data.split_validation(0.2, 6).unwrap();
    assert_ne!(val, val3);
    let mut all: Vec<u8> = train.pixels.iter().chain(&val.pixels).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<u8>>());
    assert!(data.split_validation(0.0, 1).is_err());
    assert!(data.split_validation(1.0, 1).is_err());
}

#[test]
fn batches_cover_the_split_once_in_a_seeded_order() {
    let device = Device::flex();
    let data = split(10, 1, 1, |i| i as u8);
    let stats = NormStats::fit(Normalization::Unit, &data);
    let split = DeviceSplit::new(&data, &stats, &device);
    let seen = |seed: Option<u64>| -> Vec<f32> {
        let batches = split.batches(4, seed);
        assert_eq!(batches.steps(), 3);
        batches.flat_map(|b| b.input.into_data().try_into_vec_as::<f32>().unwrap()).collect()
    };
    let ordered = seen(None);
    assert_eq!(ordered, (0..10).map(|i| i as f32 / 255.0).collect::<Vec<_>>());
    let shuffled = seen(Some(3));
    assert_eq!(shuffled, seen(Some(3)));
    assert_ne!(shuffled, ordered);
    let mut sorted = shuffled.clone();
    sorted.sort_by(f32::total_cmp);
    assert_eq!(sorted, ordered);
    // Labels travel with their images.
    for b in split.batches(3, Some(9)) {
        let x = b.target.into_data().try_into_vec_as::<f32>().unwrap();
        let y = b.labels.into_data().try_into_vec_as::<i64>().unwrap();
        for (xi, yi) in x.iter().zip(y) {
            assert_eq!(((xi * 255.0).round() as i64) % 10, yi);
        }
    }
}

/// Every batch's images, targets and labels as host vectors.
fn batch_values(split: &DeviceSplit, batch: usize, shuffle: Option<u64>, skip: usize) -> Vec<(Vec<f32>, Vec<f32>, Vec<i64>)> {
    split
        .batches(batch, shuffle)
        .skip_steps(skip)
        .map(|b| {
            (
                b.input.into_data().try_into_vec_as::<f32>().unwrap(),
                b.target.into_data().try_into_vec_as::<f32>().unwrap(),
                b.labels.into_data().try_into_vec_as::<i64>().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_split_held_in_chunks_gives_exactly_the_batches_of_one_tensor() {
    // What a GPU does with the 179 MiB training set (chunks of 64 MiB), here with chunks of 7
    // rows so batches straddle chunk boundaries and draw from up to three chunks.
    let device = Device::flex();
    let data = split(40, 2, 3, |i| (i * 37 % 251) as u8);
    let stats = NormStats::fit(Normalization::Standardize, &data);
    let pixels = stats.apply(&data.pixels);
    let noisy: Vec<f32> = pixels.iter().enumerate().map(|(i, p)| p + (i % 5) as f32 * 0.25).collect();
    let one = {
        let mut s = DeviceSplit::from_images(Images::new(pixels.clone(), 40, [1, 2, 3], &device), &data.labels, &device);
        s.set_noisy(Some(Images::new(noisy.clone(), 40, [1, 2, 3], &device)));
        s
    };
    let chunked = {
        let mut s = DeviceSplit::from_images(Images::with_chunk_rows(pixels, 40, [1, 2, 3], &device, 7), &data.labels, &device);
        s.set_noisy(Some(Images::with_chunk_rows(noisy, 40, [1, 2, 3], &device, 7)));
        s
    };
    assert_eq!((one.chunks(), chunked.chunks()), (1, 6));
    assert_eq!(chunked.dims(), [40, 1, 2, 3]);
    for (batch, shuffle, skip) in [(16, Some(11), 0), (16, Some(11), 1), (9, None, 0), (9, None, 2), (40, Some(3), 0), (1, Some(5), 37)] {
        let a = batch_values(&one, batch, shuffle, skip);
        let b = batch_values(&chunked, batch, shuffle, skip);
        assert!(!a.is_empty());
        assert_eq!(a, b, "batch {batch}, shuffle {shuffle:?}, skip {skip}");
    }
    let whole = |t: Tensor<4>| t.into_data().try_into_vec_as::<f32>().unwrap();
    assert_eq!(whole(one.clean()), whole(chunked.clean()));
    assert_eq!(whole(one.inputs()), whole(chunked.inputs()));
}

#[test]
fn on_the_cpu_even_the_full_training_set_is_one_tensor() {
    // Chunks cost a gather per step; only GPU devices, with their buffer limits, pay it.
    let device = Device::flex();
    let images = Images::new(vec![0.0; 60_000 * 784], 60_000, [1, 28, 28], &device);
    assert_eq!(images.chunks(), 1);
    assert_eq!(images.dims(), [60_000, 1, 28, 28]);
}
