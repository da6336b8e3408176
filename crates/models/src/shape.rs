//! Image shapes and Keras' padding arithmetic: the sizes every layer, `validate`, `init` and the
//! summary agree on. Knows nothing of layers or models.

use burn::nn::PaddingConfig2d;
use serde::{Deserialize, Serialize};

/// Channels, height and width of an image at the model boundary.
pub const IMAGE_SHAPE: [usize; 3] = [1, 28, 28];

/// Number of classes of the classifiers.
pub const NUM_CLASSES: usize = 10;

/// Keras-style padding of a convolution or pooling window: `"same"` or `"valid"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// Output size `ceil(input / stride)`; when the padding needed is odd, the extra row and
    /// column go at the bottom and right, as in Keras/TensorFlow.
    #[default]
    Same,
    /// No padding: output size `(input - kernel) / stride + 1`.
    Valid,
}

impl Padding {
    /// Output size of a convolution or pooling window along one axis, or `None` when the
    /// window does not fit (valid padding with `kernel > input`).
    pub fn output_size(self, input: usize, kernel: usize, stride: usize) -> Option<usize> {
        match self {
            Padding::Same => Some(input.div_ceil(stride)),
            Padding::Valid => (input >= kernel).then(|| (input - kernel) / stride + 1),
        }
    }

    /// Output size of a transposed convolution along one axis (Keras' `deconv_output_length`
    /// for `kernel >= stride`).
    pub fn transposed_output_size(self, input: usize, kernel: usize, stride: usize) -> usize {
        match self {
            Padding::Same => input * stride,
            Padding::Valid => (input - 1) * stride + kernel,
        }
    }

    /// Zero rows `[before, after]` a convolution adds along an axis of `input` pixels:
    /// TensorFlow's `same` padding (the odd one after), or none.
    pub fn conv_padding(self, input: usize, kernel: usize, stride: usize) -> [usize; 2] {
        match self {
            Padding::Same => {
                let output = input.div_ceil(stride);
                let total = ((output - 1) * stride + kernel).saturating_sub(input);
                [total / 2, total - total / 2]
            }
            Padding::Valid => [0, 0],
        }
    }

    /// The same padding as Burn's config of a convolution or pooling layer.
    pub(crate) fn to_burn(self) -> PaddingConfig2d {
        match self {
            // Burn's `Same` puts the odd extra row/column at the end, exactly like TensorFlow.
            Padding::Same => PaddingConfig2d::Same,
            Padding::Valid => PaddingConfig2d::Valid,
        }
    }

    /// The lower-case name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Padding::Same => "same",
            Padding::Valid => "valid",
        }
    }
}
