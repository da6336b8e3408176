//! `data fetch` end to end against a local HTTP server (tiny_http on 127.0.0.1) serving the
//! repository's MNIST files: `--mirror` and `MNIST_BURN_MIRROR`, the data home, `data list`, and
//! a `train` that then finds the fetched set from another folder. No network is needed.

mod common;

use std::path::Path;
use std::process::Command;

use common::output;

const FILES: [&str; 4] = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

fn data(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_data"));
    cmd.env("MNIST_BURN_DATA", home).env_remove("MNIST_BURN_MIRROR").current_dir(home);
    cmd
}

/// Serves `data/mnist` under `/mnist/` until the test process ends; returns the base URL.
fn serve_mnist() -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let file = request.url().strip_prefix("/mnist/").filter(|f| FILES.contains(f)).map(|f| common::root().join("data/mnist").join(f));
            let _ = match file {
                Some(path) => request.respond(tiny_http::Response::from_file(std::fs::File::open(path).unwrap())),
                None => request.respond(tiny_http::Response::empty(404)),
            };
        }
    });
    base
}

#[test]
fn fetch_from_a_mirror_then_train_on_it_from_anywhere() {
    let base = serve_mnist();
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");

    let (code, stdout, stderr) = output(data(t.path()).env("MNIST_BURN_DATA", &home).args(["fetch", "mnist", "--quiet", "--mirror", &format!("{base}/mnist")]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{}: downloaded from {base}/mnist/{}, sha256 verified", FILES[0], FILES[0])), "{stdout}");
    for f in FILES {
        assert_eq!(std::fs::read(home.join("mnist").join(f)).unwrap(), std::fs::read(common::root().join("data/mnist").join(f)).unwrap());
    }
    // Again, through the environment variable: nothing is downloaded twice.
    let (code, stdout, _) = output(data(t.path()).env("MNIST_BURN_DATA", &home).env("MNIST_BURN_MIRROR", format!("{base}/mnist")).args(["fetch", "mnist", "--quiet"]));
    assert_eq!(code, 0);
    assert_eq!(stdout.matches("already there, sha256 verified").count(), 4, "{stdout}");

    let (code, stdout, _) = output(data(t.path()).env("MNIST_BURN_DATA", &home).arg("list"));
    assert_eq!(code, 0);
    assert!(stdout.contains(&home.join("mnist").display().to_string()), "{stdout}");
    assert!(stdout.contains("missing: cargo run --bin data -- fetch kmnist"), "{stdout}");

    let cfg = t.path().join("fetched.toml");
    std::fs::write(&cfg, "[experiment]\nname = \"fetched\"\n\n[data]\nset = \"mnist\"\ntrain_limit = 500\ntest_limit = 100\n\n[model]\nkind = \"softmax_regression\"\n\n[training]\nepochs = 1\nbatch_size = 100\nloss = \"cross_entropy\"\nlearning_rate = 0.1\noptimizer = { kind = \"sgd\" }\n").unwrap();
    let (code, stdout, stderr) = output(common::bin("train").current_dir(t.path()).env("MNIST_BURN_DATA", &home).args(["--config", &cfg.display().to_string(), "--out", &t.path().join("run").display().to_string()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("data: mnist from {}", home.join("mnist").display())), "{stdout}");
}

#[test]
fn an_unknown_set_and_an_unreachable_mirror_are_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(data(t.path()).args(["fetch", "cifar"]));
    assert_ne!(code, 0);
    assert!(stderr.contains("unknown data set \"cifar\"") && stderr.contains("fashion-mnist, kmnist, lfw"), "{stderr}");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/kmnist");
    let (code, stdout, stderr) = output(data(t.path()).env("MNIST_BURN_MIRROR", &url).args(["fetch", "kmnist", "--quiet"]));
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains(&format!("cannot download {url}/{}", FILES[0])), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!t.path().join("kmnist").join(FILES[0]).exists());
}
