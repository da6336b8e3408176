//! The grey digit image that figures tile and the canvas copies: MNIST's side and pixel count,
//! and [`GreyImage`]. Its own module so that `canvas` (which blits it) and `grid` (which lays
//! tiles out on a canvas) do not import each other.

/// Side of an MNIST image.
pub const SIDE: usize = 28;
/// Pixels of an MNIST image.
pub const PIXELS: usize = SIDE * SIDE;

/// A grey image, row-major, values in [0, 1] (0 = black).
#[derive(Debug, Clone, PartialEq)]
pub struct GreyImage {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height` grey levels.
    pub pixels: Vec<f32>,
}

impl GreyImage {
    /// A 28×28 tile from 784 grey levels.
    pub fn digit(pixels: Vec<f32>) -> GreyImage {
        debug_assert_eq!(pixels.len(), PIXELS);
        GreyImage {
            width: SIDE,
            height: SIDE,
            pixels,
        }
    }
}
