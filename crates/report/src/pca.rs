//! Exact principal component analysis: the covariance matrix is accumulated on the device
//! (one matrix product), then diagonalized on the host with nalgebra's symmetric eigensolver.
//! Used for the PCA figure and bound, and to show latent codes of more than two dimensions.

use burn::prelude::*;
use burn::tensor::TensorData;
use nalgebra::{DMatrix, SymmetricEigen};

use crate::error::ReportError;
use crate::tensors::read_f32;

/// A fitted PCA: the mean and every principal axis, by decreasing variance.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Number of features.
    pub dim: usize,
    /// Samples it was fitted on.
    pub samples: usize,
    /// Mean of each feature.
    pub mean: Vec<f32>,
    /// Unit principal axes, row `j` (of `dim` values) being component `j + 1`.
    pub components: Vec<f32>,
    /// Variance along each axis (unbiased, divided by `samples - 1`), decreasing.
    pub explained_variance: Vec<f64>,
    /// Each variance over their sum.
    pub explained_variance_ratio: Vec<f64>,
}

impl Pca {
    /// Fits on the rows of `x` `[n, dim]` (n ≥ 2).
    pub fn fit(x: Tensor<2>) -> Result<Pca, ReportError> {
        let [n, dim] = x.dims();
        let mean = x.clone().mean_dim(0); // [1, dim]
        let centred = x - mean.clone();
        // Xcᵀ Xc: one product on the device; the host only sees the dim × dim result.
        let scatter = centred.clone().transpose().matmul(centred); // [dim, dim]
        let scatter = read_f32(scatter, "covariance matrix")?;
        let mean = read_f32(mean, "feature means")?;
        let denominator = (n.max(2) - 1) as f64;
        let covariance = DMatrix::<f64>::from_fn(dim, dim, |r, c| {
            // Symmetrize: the f32 product may differ in the last bit across the diagonal.
            (scatter[r * dim + c] as f64 + scatter[c * dim + r] as f64) / (2.0 * denominator)
        });
        let eigen = SymmetricEigen::new(covariance);
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        // Rounding can make the smallest eigenvalues of a singular covariance slightly negative.
        let explained_variance: Vec<f64> = order
            .iter()
            .map(|&i| eigen.eigenvalues[i].max(0.0))
            .collect();
        let total: f64 = explained_variance.iter().sum();
        let explained_variance_ratio = explained_variance
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect();
        let mut components = Vec::with_capacity(dim * dim);
        for &i in &order {
            let column = eigen.eigenvectors.column(i);
            // A fixed sign (largest entry positive) makes figures reproducible across runs.
            let peak = column
                .iter()
                .copied()
                .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            let sign = if peak < 0.0 { -1.0 } else { 1.0 };
            components.extend(column.iter().map(|&v| (v * sign) as f32));
        }
        Ok(Pca {
            dim,
            samples: n,
            mean,
            components,
            explained_variance,
            explained_variance_ratio,
        })
    }

    /// Component `j` (0-based) as `dim` values.
    pub fn component(&self, j: usize) -> &[f32] {
        &self.components[j * self.dim..(j + 1) * self.dim]
    }

    /// The first `k` axes as a `[dim, k]` matrix on `device`.
    fn basis(&self, k: usize, device: &Device) -> Tensor<2> {
        let k = k.min(self.dim);
        let rows = Tensor::<2>::from_data(
            TensorData::new(self.components[..k * self.dim].to_vec(), [k, self.dim]),
            device,
        );
        rows.transpose()
    }

    fn centred(&self, x: Tensor<2>) -> Tensor<2> {
        let device = x.device();
        let mean =
            Tensor::<2>::from_data(TensorData::new(self.mean.clone(), [1, self.dim]), &device);
        x - mean
    }

    /// Coordinates of the rows of `x` `[n, dim]` on the first `k` axes: `[n, k]`.
    pub fn project(&self, x: Tensor<2>, k: usize) -> Tensor<2> {
        let basis = self.basis(k, &x.device());
        self.centred(x).matmul(basis)
    }

    /// Mean squared error per feature of reconstructing the rows of `x` from their first `k`
    /// coordinates: the lowest error any linear autoencoder with a `k`-dimensional code can
    /// reach on the data the PCA was fitted on.
    pub fn reconstruction_mse(&self, x: Tensor<2>, k: usize) -> Result<f64, ReportError> {
        let [n, dim] = x.dims();
        let basis = self.basis(k, &x.device()); // [dim, k]
        let centred = self.centred(x);
        let restored = centred
            .clone()
            .matmul(basis.clone())
            .matmul(basis.transpose());
        let residual = (centred - restored).square().sum();
        let sum = read_f32(residual, "PCA residual")?[0] as f64;
        Ok(sum / (n * dim).max(1) as f64)
    }

    /// Fraction of the variance kept by the first `k` components.
    pub fn cumulative_ratio(&self, k: usize) -> f64 {
        self.explained_variance_ratio.iter().take(k).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_axes_of_a_stretched_cloud() {
        let device = Device::default();
        // Points along (1, 1)/√2 with spread 3 and along (1, -1)/√2 with spread 1.
        let mut values = Vec::new();
        for i in 0..200 {
            let a = ((i % 20) as f32 - 9.5) * 3.0 / 5.77;
            let b = ((i / 20) as f32 - 4.5) / 2.87;
            values.extend([(a + b) / 2f32.sqrt() + 5.0, (a - b) / 2f32.sqrt() - 1.0]);
        }
        let x = Tensor::<2>::from_data(TensorData::new(values, [200, 2]), &device);
        let pca = Pca::fit(x.clone()).unwrap();
        assert!((pca.mean[0] - 5.0).abs() < 1e-4 && (pca.mean[1] + 1.0).abs() < 1e-4);
        let axis = pca.component(0);
        assert!((axis[0] - axis[1]).abs() < 1e-4, "{axis:?}");
        assert!(pca.explained_variance[0] > 8.0 * pca.explained_variance[1]);
        assert!((pca.explained_variance_ratio.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // Keeping both components reconstructs exactly; keeping one leaves the minor variance.
        assert!(pca.reconstruction_mse(x.clone(), 2).unwrap() < 1e-8);
        let expected = pca.explained_variance[1] * 199.0 / 200.0 / 2.0;
        let got = pca.reconstruction_mse(x, 1).unwrap();
        assert!(
            (got - expected).abs() < 1e-4 * expected.max(1.0),
            "{got} vs {expected}"
        );
    }
}
