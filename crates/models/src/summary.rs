//! The Keras-like summary table: one row per layer (name, kind, output shape, parameter count)
//! and the `Total params: 55,050` line, so a model can be compared with the notebook's printout.

use std::collections::HashMap;
use std::fmt;

use burn::module::Module;
use burn::nn::Linear;

use crate::shape::Padding;

/// One layer of a [`Summary`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// Keras-style automatic name: `dense`, `dense_1`, `conv2d`, ... (or a fixed name such as
    /// `z_mean`).
    pub name: String,
    /// Keras layer class: `Dense`, `Conv2D`, `MaxPooling2D`, `Dropout`, ...
    pub kind: String,
    /// Output shape without the batch axis, channels first (`[32, 26, 26]`), as our tensors
    /// are laid out; Keras prints the same numbers channels last.
    pub output_shape: Vec<usize>,
    /// Number of scalar parameters of this layer.
    pub params: usize,
}

/// The summary table of a model; `Display` prints it the way Keras' `model.summary()` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Name printed in the header (`Model: "mlp"`).
    pub model: String,
    /// One row per layer, in execution order.
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    /// Sum of the rows' parameter counts.
    pub fn total_params(&self) -> usize {
        self.rows.iter().map(|row| row.params).sum()
    }

    /// Parameters that the optimizer does not train, as Keras counts them: the moving mean and
    /// variance of every batch normalization (half of its row).
    pub fn non_trainable_params(&self) -> usize {
        self.rows.iter().filter(|row| row.kind == "BatchNormalization").map(|row| row.params / 2).sum()
    }
}

/// `55050` → `"55,050"`.
pub fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn format_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("(None, {})", dims.join(", "))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEADERS: [&str; 3] = ["Layer (type)", "Output Shape", "Param #"];
        let cells: Vec<[String; 3]> = self
            .rows
            .iter()
            .map(|row| {
                [
                    format!("{} ({})", row.name, row.kind),
                    format_shape(&row.output_shape),
                    group_thousands(row.params),
                ]
            })
            .collect();
        // Keras' default column widths, widened when a cell needs more room.
        let mut widths = [28, 25, 10];
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count() + 1);
            }
        }
        let line_length = widths.iter().sum::<usize>() + 1;
        let line =
            |f: &mut fmt::Formatter<'_>, fill: &str| writeln!(f, "{}", fill.repeat(line_length));
        let row = |f: &mut fmt::Formatter<'_>, cells: [&str; 3]| {
            let text = format!(
                " {:<w0$}{:<w1$}{:<w2$}",
                cells[0],
                cells[1],
                cells[2],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            writeln!(f, "{}", text.trim_end())
        };

        writeln!(f, "Model: \"{}\"", self.model)?;
        line(f, "_")?;
        row(f, HEADERS)?;
        line(f, "=")?;
        for (i, cells) in cells.iter().enumerate() {
            row(f, [&cells[0], &cells[1], &cells[2]])?;
            if i + 1 < self.rows.len() {
                line(f, "_")?;
            }
        }
        line(f, "=")?;
        write!(f, "Total params: {}", group_thousands(self.total_params()))?;
        // Keras' split, printed when some parameters are not trained (the moving statistics of
        // batch normalizations); "Total params" stays the line parsers look for.
        let frozen = self.non_trainable_params();
        if frozen > 0 {
            write!(
                f,
                "\nTrainable params: {}\nNon-trainable params: {}",
                group_thousands(self.total_params() - frozen),
                group_thousands(frozen)
            )?;
        }
        Ok(())
    }
}

/// Walks a model's layers in order, tracking the output shape and Keras-style names.
pub(crate) struct SummaryBuilder {
    model: String,
    shape: Vec<usize>,
    counters: HashMap<&'static str, usize>,
    rows: Vec<SummaryRow>,
}

impl SummaryBuilder {
    /// Starts at an input of `shape` (without the batch axis).
    pub(crate) fn new(model: &str, shape: &[usize]) -> Self {
        Self {
            model: model.to_string(),
            shape: shape.to_vec(),
            counters: HashMap::new(),
            rows: Vec::new(),
        }
    }

    /// `dense`, `dense_1`, `dense_2`, ... like Keras' automatic names.
    pub(crate) fn auto_name(&mut self, base: &'static str) -> String {
        let count = self.counters.entry(base).or_insert(0);
        let name = if *count == 0 {
            base.to_string()
        } else {
            format!("{base}_{count}")
        };
        *count += 1;
        name
    }

    /// The shape after the rows so far.
    pub(crate) fn current_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    pub(crate) fn push(&mut self, name: String, kind: &str, shape: Vec<usize>, params: usize) {
        self.shape = shape.clone();
        self.rows.push(SummaryRow {
            name,
            kind: kind.to_string(),
            output_shape: shape,
            params,
        });
    }

    /// A dense layer applied to the current (flat) shape.
    pub(crate) fn dense(&mut self, linear: &Linear) {
        let name = self.auto_name("dense");
        self.dense_named(name, linear);
    }

    /// A dense layer with a fixed name (the VAE's `z_mean`, `z_log_var`).
    pub(crate) fn dense_named(&mut self, name: String, linear: &Linear) {
        let units = linear.weight.lazy_shape().dims::<2>()[1];
        self.push(name, "Dense", vec![units], linear.num_params());
    }

    pub(crate) fn dropout(&mut self) {
        let name = self.auto_name("dropout");
        let shape = self.shape.clone();
        self.push(name, "Dropout", shape, 0);
    }

    pub(crate) fn flatten(&mut self) {
        let name = self.auto_name("flatten");
        let size = self.shape.iter().product();
        self.push(name, "Flatten", vec![size], 0);
    }

    pub(crate) fn reshape(&mut self, shape: &[usize]) {
        let name = self.auto_name("reshape");
        self.push(name, "Reshape", shape.to_vec(), 0);
    }

    /// A 2-D (transposed) convolution on a `[c, h, w]` shape.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conv2d(
        &mut self,
        kind: &'static str,
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        transposed: bool,
        params: usize,
    ) {
        let (h, w) = (self.shape[1], self.shape[2]);
        let size = |n: usize| {
            if transposed {
                padding.transposed_output_size(n, kernel, stride)
            } else {
                // Configs are validated before a model exists, so the window fits.
                padding.output_size(n, kernel, stride).unwrap_or(0)
            }
        };
        let name = self.auto_name(if transposed {
            "conv2d_transpose"
        } else {
            "conv2d"
        });
        self.push(name, kind, vec![filters, size(h), size(w)], params);
    }

    pub(crate) fn max_pool(&mut self, size: usize, padding: Padding) {
        let (c, h, w) = (self.shape[0], self.shape[1], self.shape[2]);
        let out = |n: usize| padding.output_size(n, size, size).unwrap_or(0);
        let name = self.auto_name("max_pooling2d");
        self.push(name, "MaxPooling2D", vec![c, out(h), out(w)], 0);
    }

    pub(crate) fn upsample(&mut self, factor: usize) {
        let (c, h, w) = (self.shape[0], self.shape[1], self.shape[2]);
        let name = self.auto_name("up_sampling2d");
        self.push(name, "UpSampling2D", vec![c, h * factor, w * factor], 0);
    }

    /// The VAE's reparameterization layer (`z = mean + exp(log_var / 2) · ε`).
    pub(crate) fn sampling(&mut self, latent: usize) {
        self.push("z".to_string(), "Sampling", vec![latent], 0);
    }

    pub(crate) fn finish(self) -> Summary {
        Summary {
            model: self.model,
            rows: self.rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_by_commas() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(7850), "7,850");
        assert_eq!(group_thousands(55050), "55,050");
        assert_eq!(group_thousands(807700), "807,700");
        assert_eq!(group_thousands(1234567), "1,234,567");
    }

    #[test]
    fn display_ends_with_the_total_line() {
        let summary = Summary {
            model: "toy".into(),
            rows: vec![
                SummaryRow {
                    name: "dense".into(),
                    kind: "Dense".into(),
                    output_shape: vec![64],
                    params: 50240,
                },
                SummaryRow {
                    name: "dense_1".into(),
                    kind: "Dense".into(),
                    output_shape: vec![10],
                    params: 650,
                },
            ],
        };
        let text = summary.to_string();
        assert!(text.starts_with("Model: \"toy\"\n"));
        assert!(text.contains(" dense (Dense)"));
        assert!(text.contains("(None, 64)"));
        assert!(text.contains("50,240"));
        assert_eq!(text.lines().last(), Some("Total params: 50,890"));
    }
}
