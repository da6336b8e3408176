//! Named sets are found in the data home or in a project's `data/` above a root folder, whatever
//! the working directory; a missing set names the folders looked in and the command that fetches it.

use std::path::{Path, PathBuf};

use mnist_data::home::{self, COMPLETE_MARKER};
use mnist_data::{DataError, DataSource, FILE_NAMES, NamedSet};

fn fill(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for f in FILE_NAMES {
        std::fs::write(dir.join(f), b"x").unwrap();
    }
}

#[test]
fn the_data_home_comes_first_then_each_folder_above_each_root() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let project = t.path().join("project");
    let configs = project.join("configs").join("nested");
    std::fs::create_dir_all(&configs).unwrap();
    let found = |roots: &[PathBuf]| home::locate_in(NamedSet::FashionMnist, Some(&home), roots);
    let from_configs = [configs.clone()];

    // Nowhere yet: the error lists the data home and the project folders, and the command.
    let err = found(&from_configs).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DataError::MissingSet { set: "fashion-mnist", .. }), "{text}");
    for needle in [
        home.join("fashion-mnist").display().to_string(),
        project.join("data").join("fashion-mnist").display().to_string(),
        "cargo run --bin data -- fetch fashion-mnist".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle} missing from: {text}");
    }

    // In the project's data/ two folders above the config: found from the config's folder.
    let in_project = project.join("data").join("fashion-mnist");
    fill(&in_project);
    assert_eq!(found(&from_configs).unwrap(), in_project);
    // A folder with only some of the files does not count.
    std::fs::remove_file(in_project.join(FILE_NAMES[3])).unwrap();
    assert!(found(&from_configs).is_err());
    fill(&in_project);

    // The data home wins over the project.
    fill(&home.join("fashion-mnist"));
    assert_eq!(found(&from_configs).unwrap(), home.join("fashion-mnist"));
    // Another set is not taken for this one.
    assert!(home::locate_in(NamedSet::Kmnist, Some(&home), &[configs]).is_err());
}

#[test]
fn an_image_set_counts_only_once_its_marker_is_written() {
    let t = tempfile::tempdir().unwrap();
    let lfw = t.path().join("lfw");
    std::fs::create_dir_all(lfw.join("Someone")).unwrap();
    assert!(!home::is_complete(NamedSet::Lfw, &lfw));
    std::fs::write(lfw.join(COMPLETE_MARKER), b"").unwrap();
    assert!(home::is_complete(NamedSet::Lfw, &lfw));
    assert_eq!(home::locate_in(NamedSet::Lfw, Some(t.path()), &[]).unwrap(), lfw);
}

#[test]
fn the_data_home_is_under_the_platform_cache_or_the_variable() {
    // The variable is not set by this test (changing the environment of a threaded test process is
    // unsound); whichever applies, the folder is absolute or the variable's value.
    let home = home::data_home().expect("a home folder is known here");
    match std::env::var_os(home::DATA_HOME_ENV) {
        Some(v) if !v.is_empty() => assert_eq!(home, PathBuf::from(v)),
        _ => assert!(home.is_absolute() && home.ends_with("mnist-burn/data"), "{}", home.display()),
    }
}

#[test]
fn lfw_read_as_idx_files_is_refused_with_the_reason() {
    let t = tempfile::tempdir().unwrap();
    fill(t.path());
    let err = DataSource { dir: t.path().to_path_buf(), verify: Some(NamedSet::Lfw) }.load().unwrap_err();
    assert!(err.to_string().contains("lfw is a folder of images"), "{err}");
}

#[test]
fn names_round_trip() {
    for set in mnist_data::NAMED_SETS {
        assert_eq!(NamedSet::from_name(set.name()), Some(set));
        assert_eq!(set.is_idx(), set.sha256().len() == 4, "{}", set.name());
    }
    assert_eq!(NamedSet::from_name("cifar"), None);
}
