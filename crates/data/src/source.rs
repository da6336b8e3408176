//! Where data comes from: the named sets (`mnist`, `fashion-mnist`, `kmnist`, `lfw`), found in the
//! data home or the project's `data/` folder and verified by sha256 against the published
//! originals, or any directory the user names, read as it is (its sha256 reported, not compared).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{DataError, Split, idx};

/// The four standard file names: training images and labels, test images and labels.
pub const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// A published data set whose files are known byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NamedSet {
    /// Handwritten digits (LeCun, Cortes, Burges).
    Mnist,
    /// Zalando's articles of clothing (Xiao, Rasul, Vollgraf).
    FashionMnist,
    /// Kuzushiji-MNIST: ten cursive Japanese characters (Clanuwat et al., ROIS-DS CODH).
    Kmnist,
    /// Labeled Faces in the Wild: 13,233 250x250 colour photos of 5,749 people (Huang et al.),
    /// an image folder (`<person>/<person>_0001.jpg`), not IDX files.
    Lfw,
}

/// Every named set, in the order `data fetch` lists them.
pub const NAMED_SETS: [NamedSet; 4] = [NamedSet::Mnist, NamedSet::FashionMnist, NamedSet::Kmnist, NamedSet::Lfw];

impl NamedSet {
    /// The name used in configs and directory names.
    pub fn name(self) -> &'static str {
        match self {
            NamedSet::Mnist => "mnist",
            NamedSet::FashionMnist => "fashion-mnist",
            NamedSet::Kmnist => "kmnist",
            NamedSet::Lfw => "lfw",
        }
    }

    /// The set of a name as written in configs and on the command line.
    pub fn from_name(name: &str) -> Option<NamedSet> {
        NAMED_SETS.into_iter().find(|s| s.name() == name)
    }

    /// Whether the set is four IDX files (else an image folder).
    pub fn is_idx(self) -> bool {
        self != NamedSet::Lfw
    }

    /// The sha256 of each of [`FILE_NAMES`], in that order, as published; LFW, an image folder
    /// verified as a whole archive when it is fetched, has none.
    pub fn sha256(self) -> &'static [&'static str] {
        match self {
            NamedSet::Mnist => &[
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ],
            NamedSet::FashionMnist => &[
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ],
            // As pinned by the torchvision Ruby port (ankane/torch.rb-vision, `KMNIST#resources`),
            // for the files of https://github.com/rois-codh/kmnist (whose README publishes MD5s).
            NamedSet::Kmnist => &[
                "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
                "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
                "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
                "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
            ],
            NamedSet::Lfw => &[],
        }
    }

    /// Where the set lives in the project, relative to the repository root.
    pub fn default_dir(self) -> PathBuf {
        Path::new("data").join(self.name())
    }
}

/// A data set's location, and whether its files must match a published original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    /// The directory holding the four files of [`FILE_NAMES`].
    pub dir: PathBuf,
    /// When set, every file is verified against this set's published sha256.
    pub verify: Option<NamedSet>,
}

/// A training and a test split, as read from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The 60,000 training samples (for MNIST).
    pub train: Split,
    /// The 10,000 test samples (for MNIST).
    pub test: Split,
    /// For a directory read as it is (no named set to compare with): each file and its sha256,
    /// so a run's log says exactly which data it saw.
    pub checksums: Vec<(PathBuf, String)>,
}

fn sha256_hex(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

fn read_split(images: &Path, labels: &Path) -> Result<Split, DataError> {
    let imgs = idx::read_images(images)?;
    let lbls = idx::read_labels(labels)?;
    if imgs.count != lbls.len() {
        return Err(DataError::CountMismatch {
            images: images.to_path_buf(),
            image_count: imgs.count,
            labels: labels.to_path_buf(),
            label_count: lbls.len(),
        });
    }
    Ok(Split { channels: 1, rows: imgs.rows, cols: imgs.cols, pixels: imgs.pixels, labels: lbls })
}

impl DataSource {
    /// A named set wherever [`crate::home::locate`] finds it from `roots`, verified.
    pub fn locate(set: NamedSet, roots: &[PathBuf]) -> Result<Self, DataError> {
        Ok(DataSource { dir: crate::home::locate(set, roots)?, verify: Some(set) })
    }

    /// The images and labels at `images` and `labels`, files `first` and `first + 1` of
    /// [`FILE_NAMES`]: verified against the named set's sha256 first, or, for a directory read
    /// as it is, returned with their sha256.
    fn checked_split(&self, images: &Path, labels: &Path, first: usize) -> Result<(Split, Vec<(PathBuf, String)>), DataError> {
        let mut checksums = Vec::new();
        for (i, path) in [(first, images), (first + 1, labels)] {
            let found = sha256_hex(path)?;
            match self.verify {
                Some(set) => {
                    let expected = set.sha256()[i];
                    if found != expected {
                        return Err(DataError::Checksum { path: path.to_path_buf(), set: set.name(), found, expected });
                    }
                }
                None => checksums.push((path.to_path_buf(), found)),
            }
        }
        Ok((read_split(images, labels)?, checksums))
    }

    /// Reads both splits, verifying checksums first for a named set.
    pub fn load(&self) -> Result<Dataset, DataError> {
        if self.dir.exists() && !self.dir.is_dir() {
            return Err(DataError::Io {
                path: self.dir.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "it is a file; expected a directory holding the four IDX files"),
            });
        }
        if !self.dir.is_dir() {
            return Err(DataError::MissingDirectory { path: self.dir.clone() });
        }
        let paths = FILE_NAMES.map(|name| self.dir.join(name));
        if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
            if missing.exists() {
                return Err(DataError::Io {
                    path: missing.clone(),
                    source: std::io::Error::other("it is not a regular file; expected an IDX file, gzip-compressed or raw"),
                });
            }
            return Err(DataError::MissingFile { path: missing.clone() });
        }
        if let Some(set) = self.verify.filter(|set| !set.is_idx()) {
            return Err(DataError::NotIdxSet { set: set.name() });
        }
        // The training and the test split are checked and decompressed side by side (the
        // training images' gzip alone is a few tenths of a second, a twentieth of the speedrun);
        // an error in the training files is reported first, as if read in order.
        let (train, test) = std::thread::scope(|scope| {
            let train = scope.spawn(|| self.checked_split(&paths[0], &paths[1], 0));
            let test = self.checked_split(&paths[2], &paths[3], 2);
            (train.join().expect("reading the training split panicked"), test)
        });
        let (train, mut checksums) = train?;
        let (test, test_checksums) = test?;
        checksums.extend(test_checksums);
        if (test.rows, test.cols) != (train.rows, train.cols) {
            return Err(DataError::BadDimensions {
                path: paths[2].clone(),
                rows: test.rows,
                cols: test.cols,
                expected: format!("the training images are {}x{}", train.rows, train.cols),
            });
        }
        Ok(Dataset { train, test, checksums })
    }
}
