//! MNIST-family data: IDX files (gzip or raw), named sets found in the data home and verified by sha256, normalizations fitted
//! on the training split, a seeded validation split, seeded noise, and device-resident batches.
//!
//! May import: no workspace crate (every other crate builds on this one).

mod augment;
mod device;
mod error;
pub mod home;
pub mod idx;
mod images;
mod noise;
mod normalize;
mod source;
mod split;

pub use augment::{Augment, Elastic};
pub use device::{Batch, Batches, DeviceSplit, GPU_CHUNK_BYTES, Images, images_tensor};
pub use error::DataError;
pub use images::{IMAGE_EXTENSIONS, ImageFolder, decode_grey, decode_image, image_files, ImageOptions, ImageSet, MAX_SIDE, Unreadable};
pub use noise::{GaussianNoise, Noise, NoiseMode, SaltAndPepperNoise, derive_seed};
pub use normalize::{NormStats, Normalization};
pub use source::{DataSource, Dataset, FILE_NAMES, NAMED_SETS, NamedSet};
pub use split::Split;
