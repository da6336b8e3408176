//! `serve`'s real test digits (`/api/digits`) are found as `train` finds MNIST: with the runs
//! folder and the working directory both outside the project, from the data home a run was
//! trained with, or from the data home alone for an empty folder; with MNIST nowhere, the answer
//! is no digits and a message that says where MNIST was looked for and how to fetch it.

mod common;

use std::path::Path;

use common::{Server, bin, output, request, start_server, write_config};
use mnist_data::FILE_NAMES;

/// The first ten labels of the MNIST test set.
const FIRST_LABELS: [u64; 10] = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9];

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// A data home holding MNIST as `data fetch` leaves it: `<home>/mnist/` with the four files
/// (links to the project's copies).
fn home_with_mnist(home: &Path) {
    let mnist = home.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    for f in FILE_NAMES {
        std::os::unix::fs::symlink(common::root().join("data/mnist").join(f), mnist.join(f)).unwrap();
    }
}

/// A running `serve --port 0` in `cwd` with the data home `home`.
fn serve(runs: &Path, cwd: &Path, home: &Path) -> Server {
    start_server(
        std::process::Command::new(common::bin_path("serve"))
            .args(["--runs", &s(runs), "--port", "0"])
            .current_dir(cwd)
            .env("MNIST_BURN_DATA", home)
            .env("MNIST_BURN_DEVICE", "flex"),
    )
}

/// `GET /api/digits`: the status and the parsed body.
fn digits(server: &Server) -> (u16, serde_json::Value) {
    let (status, body) = request(&server.addr, "GET", "/api/digits", b"");
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")))
}

/// At least ten 28 × 28 digits, the first ten with MNIST's first ten test labels.
fn assert_mnist_digits(body: &serde_json::Value) {
    let list = body["digits"].as_array().unwrap_or_else(|| panic!("no digits list: {body}"));
    assert!(list.len() >= 10, "{} digits: {}", list.len(), body["missing"]);
    let labels: Vec<u64> = list[..10].iter().map(|d| d["label"].as_u64().unwrap()).collect();
    assert_eq!(labels, FIRST_LABELS);
    for d in list {
        let pixels = d["pixels"].as_array().unwrap();
        assert_eq!(pixels.len(), 28 * 28);
        assert!(pixels.iter().any(|p| p.as_f64().unwrap() > 0.5), "a digit without ink: {d}");
    }
}

#[test]
fn real_digits_come_from_the_data_home_when_runs_and_working_directory_are_outside_the_project() {
    let t = tempfile::tempdir().unwrap();
    assert!(!t.path().starts_with(common::root()), "the temporary folder is inside the project");
    let home = t.path().join("home");
    home_with_mnist(&home);
    let work = t.path().join("work");
    let runs = t.path().join("runs");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&runs).unwrap();

    // A run trained outside the project on the named set, which `train` found in the data home.
    let config = write_config(
        &work,
        "tiny.toml",
        "[experiment]\nname = \"tiny\"\nseed = 1\n\n[data]\nset = \"mnist\"\ntrain_limit = 200\ntest_limit = 50\n\n\
         [model]\nkind = \"mlp\"\nhidden = [8]\n\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"cross_entropy\"\n\
         learning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n",
    );
    let (code, stdout, stderr) = output(bin("train").current_dir(&work).env("MNIST_BURN_DATA", &home).args(["--config", &config, "--out", &s(&runs.join("tiny")), "--no-progress"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("data: mnist from {}", s(&home.join("mnist")))), "{stdout}");

    let server = serve(&runs, &work, &home);
    let (status, body) = digits(&server);
    assert_eq!(status, 200, "{body}");
    assert_mnist_digits(&body);
    assert_eq!(body["source"].as_str(), Some(s(&home.join("mnist")).as_str()), "{}", body["source"]);
    assert!(body.get("missing").is_none(), "{body}");
    // Asked again, the same answer.
    assert_eq!(digits(&server).1, body);
    drop(server);

    // A folder with no runs at all: MNIST is looked for in the data home still.
    let empty = t.path().join("empty-runs");
    std::fs::create_dir_all(&empty).unwrap();
    let (status, body) = digits(&serve(&empty, &work, &home));
    assert_eq!(status, 200, "{body}");
    assert_mnist_digits(&body);

    // MNIST nowhere (an empty data home, no project around the folders): no digits, and a
    // message naming where it was looked for and the command that fetches it.
    let no_home = t.path().join("no-home");
    let (status, body) = digits(&serve(&runs, &work, &no_home));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["digits"].as_array().map(Vec::len), Some(0), "{body}");
    assert!(body.get("source").is_none(), "{body}");
    let missing = body["missing"].as_str().unwrap_or_else(|| panic!("no message: {body}"));
    for needle in ["mnist is not on this machine", &s(&no_home.join("mnist")), "cargo run --bin data -- fetch mnist"] {
        assert!(missing.contains(needle), "{needle} missing from: {missing}");
    }
}
