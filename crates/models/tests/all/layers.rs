//! Layer semantics that must match Keras: nearest upsampling, 'same' max pooling 7 → 4 over
//! real pixels only, and 'same' transposed convolutions cropped at the bottom/right.

use burn::module::Param;
use burn::prelude::*;
use mnist_models::layers::{ConvTransposeBlock, upsample_nearest};
use mnist_models::{ConvLayer, Model};

use crate::common::{parse, values};

#[test]
fn upsampling_copies_each_pixel_into_a_block() {
    let device = Device::flex();
    let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 4.0], &device).reshape([1, 1, 2, 2]);
    let y = upsample_nearest(x, 2);
    assert_eq!(y.dims(), [1, 1, 4, 4]);
    assert_eq!(
        values(y),
        [
            1.0, 1.0, 2.0, 2.0, //
            1.0, 1.0, 2.0, 2.0, //
            3.0, 3.0, 4.0, 4.0, //
            3.0, 3.0, 4.0, 4.0,
        ]
    );
}

#[test]
fn same_max_pooling_ignores_the_padding() {
    // A 7×7 map of -1 pooled 2×2 'same' gives 4×4 of -1: the padded row/column is not a 0.
    let model = parse(crate::seeds::CONV_AE_POOLING).init(&Device::flex());
    let Model::ConvAutoencoder(ae) = &model else {
        panic!("wrong model")
    };
    let x = Tensor::<4>::full([1, 1, 7, 7], -1.0, &Device::flex());
    let y = ae.pool.forward(x);
    assert_eq!(y.dims(), [1, 1, 4, 4]);
    assert!(values(y).iter().all(|v| *v == -1.0));
}

#[test]
fn same_transposed_convolution_crops_like_tensorflow() {
    // 3×3 kernel of ones, stride 2, on a 2×2 input with a single 1 at the top-left.
    // TensorFlow's 'same' output is 4×4 with the impulse's 3×3 footprint at rows/cols 0..=2:
    // the odd cropped row/column is taken from the bottom/right.
    let device = Device::flex();
    let layer = ConvLayer {
        stride: 2,
        activation: mnist_models::Activation::Linear,
        ..ConvLayer::new(1)
    };
    let mut block = ConvTransposeBlock::new(1, &layer, &device);
    block.conv.weight = Param::from_tensor(Tensor::ones([1, 1, 3, 3], &device));
    let x = Tensor::<1>::from_floats([1.0, 0.0, 0.0, 0.0], &device).reshape([1, 1, 2, 2]);
    let y = block.forward(x);
    assert_eq!(y.dims(), [1, 1, 4, 4]);
    assert_eq!(
        values(y),
        [
            1.0, 1.0, 1.0, 0.0, //
            1.0, 1.0, 1.0, 0.0, //
            1.0, 1.0, 1.0, 0.0, //
            0.0, 0.0, 0.0, 0.0,
        ]
    );
}
