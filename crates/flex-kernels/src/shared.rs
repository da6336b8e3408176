//! What every kernel of the crate shares: whether a tensor takes our ops ([`runs_on`]), the SIMD
//! dispatch of our loops ([`vectorized`]) and building a `flex` tensor from values ([`tensor`]).

use burn::backend::DispatchDevice;
use burn::backend::flex::{FlexTensor, Layout};
use burn::prelude::*;
use burn::tensor::{Bytes, DType, Shape};

/// Runs `f` compiled for the best SIMD level this CPU has: AVX-512, AVX2 with FMA, or baseline
/// x86-64 (pulp's run-time dispatch; other architectures run `f` as it is). The workspace builds
/// for baseline x86-64, so a plain loop is vectorized 4 lanes wide with SSE2, which has no 32-bit
/// integer multiply (the dropout hash ran scalar). `f` should be `#[inline(always)]` so that its
/// body is compiled inside the dispatched function.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Whether the ops of this crate (convolutions, pooling, dense layers, the element-wise passes)
/// take `x`: `f32` on `flex`, with or without autodiff.
pub fn runs_on<const D: usize>(x: &Tensor<D>) -> bool {
    matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_)) && x.dtype() == DType::F32
}

/// A contiguous `f32` `flex` tensor of `shape` holding `values`.
pub(crate) fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(shape.into()), DType::F32)
}
