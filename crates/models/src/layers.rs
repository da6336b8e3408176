//! Building blocks shared by every model: activations, padding, Keras-initialized dense and
//! convolution layers (the padding's shape arithmetic, which `validate`, `init` and the summary
//! agree on, is in [`crate::shape`]).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, Dropout, DropoutConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use mnist_flex_kernels::conv::{self as cpu_conv, ConvGeometry};
use mnist_flex_kernels::linear as cpu_linear;
use mnist_flex_kernels::pointwise as cpu_pointwise;
use mnist_flex_kernels::pool::{self as cpu_pool, PoolGeometry};
use serde::{Deserialize, Serialize};

pub use crate::shape::Padding;
use crate::batch_norm;
use crate::summary::SummaryBuilder;

/// Glorot (Xavier) uniform, Keras' default kernel initializer.
const KERAS_KERNEL_INIT: Initializer = Initializer::XavierUniform { gain: 1.0 };

/// An element-wise activation, written in TOML as `"linear"`, `"relu"`, `"sigmoid"` or `"tanh"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// The identity (Keras' `activation=None`).
    Linear,
    /// `max(x, 0)`.
    #[default]
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
}

impl Activation {
    /// Applies the activation element-wise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Linear => x,
            Activation::Relu => activation::relu(x),
            // One vectorized pass on `flex` (libm's `expf` per element there otherwise).
            Activation::Sigmoid => {
                cpu_pointwise::sigmoid(&x).unwrap_or_else(|| activation::sigmoid(x))
            }
            Activation::Tanh => activation::tanh(x),
        }
    }

    /// The lower-case name used in configs and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }
}

/// A `Linear` layer initialized like a Keras `Dense`: glorot-uniform kernel `[d_in, d_out]`,
/// zero bias.
pub(crate) fn keras_linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    let mut linear = LinearConfig::new(d_in, d_out)
        .with_initializer(KERAS_KERNEL_INIT)
        .init(device);
    linear.bias = Some(Initializer::Zeros.init([d_out], device));
    linear
}

/// `layer.forward(x)`, `[batch, d_in]` → `[batch, d_out]`, through the fused `flex` kernel
/// ([`cpu_linear`]) where it applies (every layer here has a bias) and Burn's op elsewhere.
pub(crate) fn dense(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    let fast =
        (layer.bias.as_ref()).and_then(|b| cpu_linear::linear(&x, layer.weight.val(), b.val()));
    fast.unwrap_or_else(|| layer.forward(x))
}

/// A dense layer followed by its activation and, when `dropout > 0`, a dropout layer
/// (Keras: `Dense(units, activation)` then `Dropout(rate)`).
#[derive(Module, Debug)]
pub struct DenseBlock {
    /// The affine map, kernel `[d_in, units]`.
    pub linear: Linear,
    /// Batch normalization between the affine map and the activation (`batch_norm = true`).
    pub bn: Option<BatchNorm>,
    /// Applied after the affine map.
    #[module(skip)]
    pub activation: Activation,
    /// Active only in training (autodiff device, before `valid()`).
    pub dropout: Option<Dropout>,
}

impl DenseBlock {
    /// Builds the block; `dropout` must already be validated to lie in `[0, 1)`.
    pub fn new(
        d_in: usize,
        units: usize,
        activation: Activation,
        dropout: f64,
        device: &Device,
    ) -> Self {
        Self {
            linear: keras_linear(d_in, units, device),
            bn: None,
            activation,
            dropout: (dropout > 0.0).then(|| DropoutConfig::new(dropout).init()),
        }
    }

    /// The block with a batch normalization after its affine map when `on`.
    pub fn with_batch_norm(mut self, on: bool, device: &Device) -> Self {
        self.bn = on.then(|| batch_norm::batch_norm(self.units(), device));
        self
    }

    /// `[batch, d_in]` → `[batch, units]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = dense(&self.linear, x);
        if let Some(bn) = &self.bn {
            x = batch_norm::apply(bn, x);
        }
        let x = self.activation.apply(x);
        match &self.dropout {
            Some(dropout) => apply_dropout(dropout, x),
            None => x,
        }
    }

    /// Number of output units.
    pub fn units(&self) -> usize {
        self.linear.weight.lazy_shape().dims::<2>()[1]
    }

    /// Adds this block's rows (dense, then dropout if any) to a summary.
    pub(crate) fn summarize(&self, summary: &mut SummaryBuilder) {
        summary.dense(&self.linear);
        if let Some(bn) = &self.bn {
            summary.batch_norm(bn);
        }
        if self.dropout.is_some() {
            summary.dropout();
        }
    }
}

/// Runs `x` through a stack of dense blocks.
pub(crate) fn forward_dense_stack(blocks: &[DenseBlock], x: Tensor<2>) -> Tensor<2> {
    blocks.iter().fold(x, |x, block| block.forward(x))
}

/// One dense layer in a config, e.g. `{ units = 128, activation = "relu", dropout = 0.2 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DenseLayer {
    /// Number of output units.
    pub units: usize,
    /// Activation after the affine map. Default `"relu"`.
    #[serde(default)]
    pub activation: Activation,
    /// Dropout rate applied after the activation, in `[0, 1)`. Default 0 (no dropout layer).
    #[serde(default)]
    pub dropout: f64,
}

impl DenseLayer {
    /// A layer of `units` with `activation` and no dropout.
    pub fn new(units: usize, activation: Activation) -> Self {
        Self {
            units,
            activation,
            dropout: 0.0,
        }
    }

    pub(crate) fn build(&self, d_in: usize, device: &Device) -> DenseBlock {
        DenseBlock::new(d_in, self.units, self.activation, self.dropout, device)
    }
}

/// Builds a stack of dense blocks starting from `d_in` features; returns it and its output size.
pub(crate) fn build_dense_stack(
    d_in: usize,
    layers: &[DenseLayer],
    device: &Device,
) -> (Vec<DenseBlock>, usize) {
    let mut d = d_in;
    let blocks = layers
        .iter()
        .map(|layer| {
            let block = layer.build(d, device);
            d = layer.units;
            block
        })
        .collect();
    (blocks, d)
}

/// One convolution layer in a config, e.g. `{ filters = 32, kernel_size = 3, stride = 2 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvLayer {
    /// Number of output channels (Keras `filters`).
    pub filters: usize,
    /// Side of the square kernel. Default 3.
    #[serde(default = "default_kernel_size")]
    pub kernel_size: usize,
    /// Stride along both axes. Default 1.
    #[serde(default = "default_stride")]
    pub stride: usize,
    /// `"same"` (default) or `"valid"`.
    #[serde(default)]
    pub padding: Padding,
    /// Activation after the convolution. Default `"relu"`.
    #[serde(default)]
    pub activation: Activation,
    /// Batch normalization between the convolution and its activation. Default false. Not on
    /// transposed convolutions.
    #[serde(default, skip_serializing_if = "is_false")]
    pub batch_norm: bool,
    /// Side (and stride) of a max pooling after the activation (`valid`); 1 = none (default).
    /// Not on transposed convolutions.
    #[serde(default = "default_stride", skip_serializing_if = "is_one")]
    pub pool: usize,
}

fn is_false(v: &bool) -> bool {
    !*v
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

fn default_kernel_size() -> usize {
    3
}

fn default_stride() -> usize {
    1
}

impl ConvLayer {
    /// A 3×3, stride-1, `same`, ReLU layer with `filters` channels.
    pub fn new(filters: usize) -> Self {
        Self {
            filters,
            kernel_size: default_kernel_size(),
            stride: default_stride(),
            padding: Padding::Same,
            activation: Activation::Relu,
            batch_norm: false,
            pool: 1,
        }
    }
}

/// A `Conv2d` initialized like a Keras `Conv2D` (glorot-uniform kernel, zero bias), followed by
/// its activation.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// Kernel `[filters, channels_in, k, k]`.
    pub conv: Conv2d,
    /// Kept to report shapes (Burn's own padding type has no `Same`/`Valid` accessor we rely on).
    #[module(skip)]
    pub padding: Padding,
    /// Applied after the convolution.
    #[module(skip)]
    pub activation: Activation,
    /// Batch normalization between the convolution and the activation.
    pub bn: Option<BatchNorm>,
    /// Max pooling after the activation.
    pub pool: Option<MaxPool2d>,
}

impl ConvBlock {
    /// Builds the block for `channels_in` input channels.
    pub fn new(channels_in: usize, layer: &ConvLayer, device: &Device) -> Self {
        let mut conv = Conv2dConfig::new(
            [channels_in, layer.filters],
            [layer.kernel_size, layer.kernel_size],
        )
        .with_stride([layer.stride, layer.stride])
        .with_padding(layer.padding.to_burn())
        .with_initializer(KERAS_KERNEL_INIT)
        .init(device);
        conv.bias = Some(Initializer::Zeros.init([layer.filters], device));
        Self {
            conv,
            padding: layer.padding,
            activation: layer.activation,
            bn: layer.batch_norm.then(|| batch_norm::batch_norm(layer.filters, device)),
            pool: (layer.pool > 1).then(|| max_pool(layer.pool, Padding::Valid)),
        }
    }

    /// `[batch, c_in, h, w]` → `[batch, filters, h', w']` (pooled when the layer pools).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.forward_linear(x);
        if let Some(bn) = &self.bn {
            x = batch_norm::apply(bn, x);
        }
        match &self.pool {
            // On `flex` the ReLU folds into the pooling (`pool(relu(x)) = relu(pool(x))`, with
            // the same gradients): a pass over the full-size map and its backward mask fewer.
            Some(pool) if self.activation == Activation::Relu => {
                let geometry = pool_geometry(pool, x.dims());
                let fused = geometry.and_then(|g| cpu_pool::max_pool2d_relu(&x, g));
                fused.unwrap_or_else(|| apply_max_pool(pool, self.activation.apply(x)))
            }
            Some(pool) => apply_max_pool(pool, self.activation.apply(x)),
            None => self.activation.apply(x),
        }
    }

    /// The pre-activation output (for sigmoid outputs whose logits feed BCE). On `flex` this
    /// runs [`cpu_conv`]'s kernels, elsewhere Burn's `Conv2d`.
    pub fn forward_linear(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let [_, _, kh, kw] = self.conv.weight.lazy_shape().dims::<4>();
        let stride = self.conv.stride;
        let geometry = ConvGeometry {
            stride,
            padding: [
                self.padding.conv_padding(h, kh, stride[0]),
                self.padding.conv_padding(w, kw, stride[1]),
            ],
        };
        let plain = self.conv.dilation == [1, 1] && self.conv.groups == 1;
        let fast = (self.conv.bias.as_ref())
            .filter(|_| plain)
            .and_then(|bias| cpu_conv::conv2d(&x, self.conv.weight.val(), bias.val(), geometry));
        fast.unwrap_or_else(|| self.conv.forward(x))
    }

    pub(crate) fn summarize(&self, summary: &mut SummaryBuilder) {
        let [filters, _, kernel, _] = self.conv.weight.lazy_shape().dims::<4>();
        summary.conv2d(
            "Conv2D",
            filters,
            kernel,
            self.conv.stride[0],
            self.padding,
            false,
            self.conv.num_params(),
        );
        if let Some(bn) = &self.bn {
            summary.batch_norm(bn);
        }
        if let Some(pool) = &self.pool {
            summary.max_pool(pool.kernel_size[0], Padding::Valid);
        }
    }
}

/// A transposed convolution initialized like a Keras `Conv2DTranspose`, with Keras' output
/// size (`same`: `input * stride`), followed by its activation.
#[derive(Module, Debug)]
pub struct ConvTransposeBlock {
    /// Kernel `[channels_in, filters, k, k]`; its own padding is the symmetric part of Keras'
    /// `same` cropping.
    pub conv: ConvTranspose2d,
    /// Rows/columns cropped at the bottom/right after the convolution: the odd part of the
    /// `same` cropping, which TensorFlow takes from the end and Burn's symmetric padding can't.
    pub crop_end: usize,
    /// Keras padding mode, for shapes.
    #[module(skip)]
    pub padding: Padding,
    /// Applied after the convolution.
    #[module(skip)]
    pub activation: Activation,
}

impl ConvTransposeBlock {
    /// Builds the block; `layer.kernel_size >= layer.stride` must already be validated.
    pub fn new(channels_in: usize, layer: &ConvLayer, device: &Device) -> Self {
        // The full transposed output is `(in - 1) * s + k`; `same` wants `in * s`, so
        // `k - s` rows are cropped: half at the start, the rest (one more if odd) at the end.
        let excess = match layer.padding {
            Padding::Same => layer.kernel_size.saturating_sub(layer.stride),
            Padding::Valid => 0,
        };
        let symmetric = excess / 2;
        let mut conv = ConvTranspose2dConfig::new(
            [channels_in, layer.filters],
            [layer.kernel_size, layer.kernel_size],
        )
        .with_stride([layer.stride, layer.stride])
        .with_padding([symmetric, symmetric])
        .init(device);
        // Burn's transposed convolution passes no fan-out to its initializer, which glorot
        // needs: replace its (lazy, never materialized) parameters. Keras' fans are
        // `k²·filters` and `k²·channels_in`; glorot only uses their sum.
        let k2 = layer.kernel_size * layer.kernel_size;
        conv.weight = KERAS_KERNEL_INIT.init_with(
            [
                channels_in,
                layer.filters,
                layer.kernel_size,
                layer.kernel_size,
            ],
            Some(k2 * layer.filters),
            Some(k2 * channels_in),
            device,
        );
        conv.bias = Some(Initializer::Zeros.init([layer.filters], device));
        Self {
            conv,
            crop_end: excess % 2,
            padding: layer.padding,
            activation: layer.activation,
        }
    }

    /// `[batch, c_in, h, w]` → `[batch, filters, h * s, w * s]` (`same`).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.activation.apply(self.forward_linear(x))
    }

    /// The pre-activation output (for sigmoid outputs whose logits feed BCE).
    pub fn forward_linear(&self, x: Tensor<4>) -> Tensor<4> {
        if let Some(y) = self.forward_cpu(&x) {
            return y;
        }
        let y = self.conv.forward(x);
        if self.crop_end == 0 {
            return y;
        }
        let [_, _, h, w] = y.dims();
        y.slice(s![.., .., 0..h - self.crop_end, 0..w - self.crop_end])
    }

    /// [`cpu_conv`]'s transposed convolution on `flex` (`None` elsewhere): the input gradient of
    /// the convolution that maps the cropped output back to `x`, so the cropping is its padding.
    fn forward_cpu(&self, x: &Tensor<4>) -> Option<Tensor<4>> {
        let conv = &self.conv;
        if conv.dilation != [1, 1] || conv.groups != 1 || conv.padding_out != [0, 0] {
            return None;
        }
        let bias = conv.bias.as_ref()?.val();
        let [_, _, h, w] = x.dims();
        let [_, _, kh, kw] = self.conv.weight.lazy_shape().dims::<4>();
        let [sh, sw] = self.conv.stride;
        let [ph, pw] = self.conv.padding;
        // Burn's output `(in - 1)·s - 2p + k`, less the rows cropped at the end.
        let out = |input: usize, k: usize, s: usize, p: usize| {
            (input - 1) * s + k - 2 * p - self.crop_end
        };
        let out_size = [out(h, kh, sh, ph), out(w, kw, sw, pw)];
        let geometry = ConvGeometry {
            stride: [sh, sw],
            padding: [[ph, ph + self.crop_end], [pw, pw + self.crop_end]],
        };
        cpu_conv::conv_transpose2d(x, self.conv.weight.val(), bias, geometry, out_size)
    }

    pub(crate) fn summarize(&self, summary: &mut SummaryBuilder) {
        let [_, filters, kernel, _] = self.conv.weight.lazy_shape().dims::<4>();
        summary.conv2d(
            "Conv2DTranspose",
            filters,
            kernel,
            self.conv.stride[0],
            self.padding,
            true,
            self.conv.num_params(),
        );
    }
}

/// `dropout` on `x`: active only while training, as Burn's `Dropout::forward`, and then one
/// fused pass on `flex` ([`cpu_pointwise::dropout`]), Burn's module elsewhere.
pub(crate) fn apply_dropout<const D: usize>(dropout: &Dropout, x: Tensor<D>) -> Tensor<D> {
    if !dropout.training.is_enabled() || !x.device().is_autodiff() || dropout.prob == 0.0 {
        return x;
    }
    cpu_pointwise::dropout(&x, dropout.prob).unwrap_or_else(|| dropout.forward(x))
}

/// A max-pooling window of `size × size` with stride `size` (Keras `MaxPooling2D(size)`).
pub(crate) fn max_pool(size: usize, padding: Padding) -> MaxPool2d {
    // Burn pads max pooling with -inf, so `same` pooling (7 → 4) takes the max over the real
    // pixels only, like Keras.
    MaxPool2dConfig::new([size, size])
        .with_strides([size, size])
        .with_padding(padding.to_burn())
        .init()
}

/// `pool` on `x` `[batch, c, h, w]`: one pass on `flex` ([`cpu_pool::max_pool2d`]), Burn's module
/// elsewhere (and for dilated, ceil-mode or explicitly padded windows, which our layers never
/// build).
pub(crate) fn apply_max_pool(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    if let Some(y) = pool_geometry(pool, x.dims()).and_then(|g| cpu_pool::max_pool2d(&x, g)) {
        return y;
    }
    pool.forward(x)
}

/// Where `pool`'s windows fall on `[batch, channels, h, w]` inputs, for [`cpu_pool`]; `None`
/// for the settings only Burn's own pooling has (dilation, ceil mode, explicit padding).
fn pool_geometry(pool: &MaxPool2d, [_, _, h, w]: [usize; 4]) -> Option<PoolGeometry> {
    let padding = match pool.padding {
        PaddingConfig2d::Valid => Padding::Valid,
        PaddingConfig2d::Same => Padding::Same,
        _ => return None,
    };
    if pool.dilation != [1, 1] || pool.ceil_mode {
        return None;
    }
    let ([kh, kw], [sh, sw]) = (pool.kernel_size, pool.stride);
    // Burn's `same` for pooling is TensorFlow's, as for convolutions.
    Some(PoolGeometry {
        kernel: pool.kernel_size,
        stride: pool.stride,
        padding: [
            padding.conv_padding(h, kh, sh),
            padding.conv_padding(w, kw, sw),
        ],
    })
}

/// Nearest-neighbour upsampling by an integer factor (Keras `UpSampling2D`, its default
/// interpolation): every pixel becomes a `factor × factor` block.
/// `[batch, c, h, w]` → `[batch, c, h * factor, w * factor]`.
pub fn upsample_nearest(x: Tensor<4>, factor: usize) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    // Burn's `Nearest` maps output index `o` to `floor(o * in / out)`: with an integer factor
    // that is `floor(o / factor)`, an exact block copy.
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Nearest)
            .with_output_size([h * factor, w * factor]),
    )
}

/// `[batch, 1, 28, 28]` → `[batch, 784]`.
pub(crate) fn flatten_images(images: Tensor<4>) -> Tensor<2> {
    images.flatten(1, 3)
}

/// `[batch, 784]` → `[batch, 1, 28, 28]`.
pub(crate) fn unflatten_images(pixels: Tensor<2>, [c, h, w]: [usize; 3]) -> Tensor<4> {
    let [batch, _] = pixels.dims();
    pixels.reshape([batch, c, h, w])
}
