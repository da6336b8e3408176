//! Reads the real MNIST files shipped in `data/mnist` and checks sizes, label counts and checksums.

use std::path::PathBuf;

use mnist_data::{DataSource, NamedSet, NormStats, Normalization};

fn mnist_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist")
}

#[test]
fn real_mnist_has_the_published_sizes_and_label_counts() {
    let data = DataSource { dir: mnist_dir(), verify: Some(NamedSet::Mnist) }.load().unwrap();
    assert_eq!(data.train.len(), 60_000);
    assert_eq!(data.test.len(), 10_000);
    assert_eq!((data.train.rows, data.train.cols), (28, 28));
    assert_eq!((data.test.rows, data.test.cols), (28, 28));
    assert_eq!(data.train.pixels.len(), 60_000 * 784);
    assert_eq!(data.train.label_counts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(data.test.label_counts(), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
}

#[test]
fn standardization_of_real_mnist_matches_the_known_statistics() {
    let data = DataSource { dir: mnist_dir(), verify: None }.load().unwrap();
    let stats = NormStats::fit(Normalization::Standardize, &data.train);
    // The well-known MNIST pixel mean and std on [0, 1] are 0.1307 and 0.3081.
    assert!((stats.offset / 255.0 - 0.1307).abs() < 1e-3, "mean {}", stats.offset / 255.0);
    assert!((stats.scale / 255.0 - 0.3081).abs() < 1e-3, "std {}", stats.scale / 255.0);
}
