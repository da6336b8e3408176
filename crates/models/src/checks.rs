//! The errors of a model config that can't be built, and the checks every architecture's
//! `validate_for` runs: sizes, rates, and the walk of the image shape through the layers (each
//! returns the first problem found, naming the field).

use crate::layers::{ConvLayer, DenseLayer};
use crate::shape::Padding;

/// A model configuration that can't be built. Every message names the field and its value;
/// fields are written relative to the `[model]` table (`encoder[1].units`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelConfigError {
    /// `pool` or `batch_norm` on a transposed convolution.
    #[error("`{field}` is not available on a transposed convolution (decoder layers); leave it out there")]
    NotTransposed {
        /// The key.
        field: String,
    },
    /// A size (units, filters, kernel, stride, latent size, pool size) of 0.
    #[error("`{field}` = 0: it must be at least 1")]
    Zero {
        /// The offending field.
        field: String,
    },
    /// A layer list that must not be empty.
    #[error("`{field}` is empty: it must list at least one layer")]
    NoLayers {
        /// The offending field.
        field: String,
    },
    /// A dropout rate outside `[0, 1)`.
    #[error("`{field}` = {value}: a dropout rate must lie in [0, 1)")]
    Dropout {
        /// The offending field.
        field: String,
        /// The rate given.
        value: f64,
    },
    /// A convolution or pooling window larger than its (valid-padded) input.
    #[error(
        "`{field}` = {kernel}: a {kernel}x{kernel} window does not fit the {size}x{size} input \
         it receives (valid padding)"
    )]
    WindowTooLarge {
        /// The offending field.
        field: String,
        /// The window size.
        kernel: usize,
        /// The input's height and width at that layer.
        size: usize,
    },
    /// A transposed convolution whose kernel is smaller than its stride.
    #[error(
        "`{field}` = {kernel}: a transposed convolution needs kernel_size >= stride ({stride})"
    )]
    TransposeKernel {
        /// The offending field.
        field: String,
        /// The kernel size given.
        kernel: usize,
        /// The layer's stride.
        stride: usize,
    },
    /// The decoder does not end at the size of the images.
    #[error(
        "`{field}`: these layers produce {height}x{width} images, but the model must output {expected}"
    )]
    OutputSize {
        /// The layer list responsible.
        field: String,
        /// Height produced.
        height: usize,
        /// Width produced.
        width: usize,
        /// The images' `HxW`.
        expected: String,
    },
    /// A decoder layer with its own stride where `upsampling = "transposed"` sets it.
    #[error(
        "`{field}` = {stride}: with upsampling = \"transposed\" every decoder layer's stride is \
         pool_size ({pool_size}); leave stride out there"
    )]
    TransposedStride {
        /// The offending field.
        field: String,
        /// The stride given.
        stride: usize,
        /// The model's pool size.
        pool_size: usize,
    },
    /// `mirror = true` together with an explicit decoder.
    #[error(
        "`decoder` lists {layers} layer(s) but `mirror` = true builds the decoder from the \
         encoder: remove one of the two"
    )]
    MirrorWithDecoder {
        /// Number of decoder layers given.
        layers: usize,
    },
}

pub(crate) fn check_nonzero(
    field: impl Into<String>,
    value: usize,
) -> Result<(), ModelConfigError> {
    if value == 0 {
        return Err(ModelConfigError::Zero {
            field: field.into(),
        });
    }
    Ok(())
}

pub(crate) fn check_not_empty<T>(field: &str, layers: &[T]) -> Result<(), ModelConfigError> {
    if layers.is_empty() {
        return Err(ModelConfigError::NoLayers {
            field: field.to_string(),
        });
    }
    Ok(())
}

pub(crate) fn check_dropout(field: impl Into<String>, value: f64) -> Result<(), ModelConfigError> {
    // `contains` is false for NaN, so NaN is rejected too.
    if !(0.0..1.0).contains(&value) {
        return Err(ModelConfigError::Dropout {
            field: field.into(),
            value,
        });
    }
    Ok(())
}

pub(crate) fn check_dense_layers(
    field: &str,
    layers: &[DenseLayer],
) -> Result<(), ModelConfigError> {
    for (i, layer) in layers.iter().enumerate() {
        check_nonzero(format!("{field}[{i}].units"), layer.units)?;
        check_dropout(format!("{field}[{i}].dropout"), layer.dropout)?;
    }
    Ok(())
}

/// The sizes every convolution, plain or transposed, needs to be at least 1.
fn check_conv_sizes(field: &str, layer: &ConvLayer) -> Result<(), ModelConfigError> {
    check_nonzero(format!("{field}.filters"), layer.filters)?;
    check_nonzero(format!("{field}.kernel_size"), layer.kernel_size)?;
    check_nonzero(format!("{field}.stride"), layer.stride)
}

/// The `[channels, height, width]` after a convolution, or the error naming the layer.
pub(crate) fn conv_output_shape(
    field: &str,
    input: [usize; 3],
    layer: &ConvLayer,
) -> Result<[usize; 3], ModelConfigError> {
    check_conv_sizes(field, layer)?;
    let [_, h, w] = input;
    let out = |n: usize| {
        layer
            .padding
            .output_size(n, layer.kernel_size, layer.stride)
            .ok_or_else(|| ModelConfigError::WindowTooLarge {
                field: format!("{field}.kernel_size"),
                kernel: layer.kernel_size,
                size: n,
            })
    };
    let shape = [layer.filters, out(h)?, out(w)?];
    check_nonzero(format!("{field}.pool"), layer.pool)?;
    if layer.pool > 1 {
        return pool_output_shape(&format!("{field}.pool"), shape, layer.pool, Padding::Valid);
    }
    Ok(shape)
}

/// The `[channels, height, width]` after a transposed convolution.
pub(crate) fn conv_transpose_output_shape(
    field: &str,
    input: [usize; 3],
    layer: &ConvLayer,
) -> Result<[usize; 3], ModelConfigError> {
    check_conv_sizes(field, layer)?;
    if layer.pool != 1 || layer.batch_norm {
        let key = if layer.pool != 1 { "pool" } else { "batch_norm" };
        return Err(ModelConfigError::NotTransposed { field: format!("{field}.{key}") });
    }
    if layer.kernel_size < layer.stride {
        return Err(ModelConfigError::TransposeKernel {
            field: format!("{field}.kernel_size"),
            kernel: layer.kernel_size,
            stride: layer.stride,
        });
    }
    let [_, h, w] = input;
    let out = |n| {
        layer
            .padding
            .transposed_output_size(n, layer.kernel_size, layer.stride)
    };
    Ok([layer.filters, out(h), out(w)])
}

/// The shape after a `size × size`, stride-`size` max pooling.
pub(crate) fn pool_output_shape(
    field: &str,
    input: [usize; 3],
    size: usize,
    padding: Padding,
) -> Result<[usize; 3], ModelConfigError> {
    let [c, h, w] = input;
    let out = |n: usize| {
        padding
            .output_size(n, size, size)
            .ok_or_else(|| ModelConfigError::WindowTooLarge {
                field: field.to_string(),
                kernel: size,
                size: n,
            })
    };
    Ok([c, out(h)?, out(w)?])
}

/// Error unless the spatial size of `shape` is that of the `input` images (the output layer
/// sets the channels).
pub(crate) fn check_image_size(
    field: &str,
    shape: [usize; 3],
    input: [usize; 3],
) -> Result<(), ModelConfigError> {
    let [_, height, width] = shape;
    let [_, h, w] = input;
    if (height, width) != (h, w) {
        return Err(ModelConfigError::OutputSize {
            field: field.to_string(),
            height,
            width,
            expected: format!("{h}x{w}"),
        });
    }
    Ok(())
}
