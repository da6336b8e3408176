//! End-to-end tests of `serve`: its HTTP API refuses what it must (path traversal, oversized
//! bodies, unknown runs), and its playground, driven in a real headless Chromium through the
//! DevTools protocol, answers real MNIST test digits drawn on the canvas as strokes.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Server, request, start_server};

use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::Input;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Trains `config` (a TOML body after `[experiment]`'s name) into `<runs>/<name>`.
fn train(runs: &Path, name: &str, body: &str) {
    let text = format!("[experiment]\nname = \"{name}\"\nseed = 1\n\n[data]\nset = \"mnist\"\ndir = \"{}\"\n{body}", common::root().join("data/mnist").display());
    let config = common::write_config(runs.parent().unwrap(), &format!("{name}.toml"), &text);
    let (code, _, err) = common::run("train", &["--config", &config, "--out", &s(&runs.join(name)), "--device", "flex"]);
    assert_eq!(code, 0, "{name}: {err}");
}

/// A folder with a classifier, a denoiser and a VAE with a 2-value code, trained once per test
/// binary (a few seconds).
fn runs() -> &'static Path {
    static RUNS: OnceLock<PathBuf> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let runs = dir.join("runs");
        std::fs::create_dir_all(&runs).unwrap();
        train(&runs, "clf", "normalization = \"standardize\"\ntrain_limit = 12000\ntest_limit = 500\n[model]\nkind = \"mlp\"\nhidden = [128]\n[training]\nepochs = 3\nbatch_size = 64\nloss = \"cross_entropy\"\nlearning_rate = 0.001\noptimizer = { kind = \"adam\" }\n");
        train(&runs, "denoiser", "normalization = \"unit\"\ntrain_limit = 2000\ntest_limit = 200\ntrain_noise = { kind = \"salt_and_pepper\", level = 0.3 }\n[model]\nkind = \"dense_autoencoder\"\nencoder = [{ units = 64, activation = \"relu\" }]\ndecoder = []\noutput_activation = \"sigmoid\"\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"bce\"\nlearning_rate = 0.001\noptimizer = { kind = \"adam\" }\n");
        train(&runs, "vae", "normalization = \"unit\"\ntrain_limit = 2000\ntest_limit = 300\n[model]\nkind = \"vae\"\nencoder = [{ units = 64, activation = \"relu\" }]\nlatent_dim = 2\ndecoder = [{ units = 64, activation = \"relu\" }]\noutput_activation = \"sigmoid\"\n[training]\nepochs = 1\nbatch_size = 50\nloss = \"bce\"\nlearning_rate = 0.001\noptimizer = { kind = \"adam\" }\n");
        runs
    })
}

fn serve(runs: &Path) -> Server {
    start_server(std::process::Command::new(common::bin_path("serve")).args(["--runs", &s(runs), "--port", "0"]))
}

#[test]
fn the_api_serves_only_the_runs_folder_and_refuses_bad_requests() {
    let runs = runs();
    std::fs::write(runs.parent().unwrap().join("secret.txt"), "not to be served").unwrap();
    let server = serve(runs);
    let a = &server.addr;
    let (status, body) = request(a, "GET", "/api/runs", b"");
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = listed["runs"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["clf", "denoiser", "vae"]);
    assert_eq!(listed["runs"][0]["state"], "finished");
    assert_eq!(request(a, "GET", "/runs/clf/config.toml", b"").0, 200);
    for path in ["/runs/../secret.txt", "/runs/clf/../../secret.txt", "/runs/%2e%2e/secret.txt", "/runs/clf/%2e%2e/%2e%2e/secret.txt", "/runs//etc/passwd"] {
        let (status, body) = request(a, "GET", path, b"");
        assert!(status == 404 || status == 400, "{path}: {status} {body}");
        assert!(!body.contains("not to be served"), "{path}");
    }
    // A link inside the folder to a file outside it.
    std::os::unix::fs::symlink(runs.parent().unwrap().join("secret.txt"), runs.join("clf/leak.txt")).unwrap();
    assert_eq!(request(a, "GET", "/runs/clf/leak.txt", b"").0, 404);
    std::fs::remove_file(runs.join("clf/leak.txt")).unwrap();
    // Bodies over the limit, malformed drawings, unknown runs.
    let (status, _) = request(a, "POST", "/api/answer", &vec![b' '; 1 << 20]);
    assert_eq!(status, 413);
    let (status, body) = request(a, "POST", "/api/answer", br#"{"image": "AAAA", "width": 10, "height": 10}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not width × height = 100"), "{body}");
    let (status, body) = request(a, "POST", "/api/answer", b"[1, 2]");
    assert!(status == 400 || status == 422, "{status} {body}");
    for path in ["/api/scatter?run=nope", "/api/curves?run=../vae", "/api/decode?run=vae/..&x=0&y=0"] {
        let (status, body) = request(a, "GET", path, b"");
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, body) = request(a, "GET", "/api/scatter?run=clf", b"");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no 2-value code"), "{body}");
    // A blank drawing gets an answer from every run.
    let blank = base64_zeros(28 * 28);
    let (status, body) = request(a, "POST", "/api/answer", format!(r#"{{"image": "{blank}", "width": 28, "height": 28}}"#).as_bytes());
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["runs"].as_array().unwrap().len(), 3);
    assert_eq!(answer["runs"][0]["answer"]["probabilities"].as_array().unwrap().len(), 10);
}

fn base64_zeros(n: usize) -> String {
    // Every 3 zero bytes are "AAAA".
    assert_eq!(n % 3, 1);
    "AAAA".repeat(n / 3) + "AA=="
}

fn chromium() -> Browser {
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.is_file() {
        // Installed on first need (root or sudo, Debian's archive); a failure names the package.
        let (code, stdout, stderr) = common::output(std::process::Command::new("bash").arg(common::root().join("scripts/deps.sh")).arg("chromium"));
        assert_eq!(code, 0, "this test drives Debian's chromium (/usr/bin/chromium), and `scripts/deps.sh chromium` could not install it:\n{stdout}{stderr}");
    }
    assert!(path.is_file(), "this test drives Debian's chromium (/usr/bin/chromium), which `scripts/deps.sh chromium` did not install");
    let args: Vec<&OsStr> = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"].iter().map(OsStr::new).collect();
    let options = LaunchOptions::default_builder().path(Some(path)).headless(true).sandbox(false).window_size(Some((1400, 1000))).args(args).idle_browser_timeout(std::time::Duration::from_secs(600)).build().unwrap();
    Browser::new(options).unwrap()
}

/// Evaluates `js` in the page; its value as JSON.
fn eval(tab: &Tab, js: &str) -> serde_json::Value {
    tab.evaluate(js, true).unwrap().value.unwrap_or(serde_json::Value::Null)
}

/// One mouse event at `p` with the left button (`down`: held while it moves).
fn mouse(tab: &Tab, kind: Input::DispatchMouseEventTypeOption, p: Point, down: bool) {
    let moved = matches!(kind, Input::DispatchMouseEventTypeOption::MouseMoved);
    tab.call_method(Input::DispatchMouseEvent {
        Type: kind,
        x: p.x,
        y: p.y,
        button: Some(if down || !moved { Input::MouseButton::Left } else { Input::MouseButton::None }),
        click_count: Some(1),
        modifiers: None,
        timestamp: None,
        buttons: Some(if down { 1 } else { 0 }),
        force: None,
        tangential_pressure: None,
        tilt_x: None,
        tilt_y: None,
        twist: None,
        delta_x: None,
        delta_y: None,
        pointer_Type: None,
    })
    .unwrap();
}

/// Polls the page every 20 ms until `poll` gives a value; fails naming `what` after the suite's
/// bound on waits (far above any normal one: a hang, not a slow machine).
#[track_caller]
fn poll_page<T>(what: &str, poll: impl FnMut() -> Option<T>) -> T {
    common::poll_within(common::WAIT_BOUND, std::time::Duration::from_millis(20), poll).unwrap_or_else(|| common::hang(what, common::WAIT_BOUND, ""))
}

/// Waits until every answer the page asked for has come back.
#[track_caller]
fn idle(tab: &Tab) {
    poll_page("the playground's answers to come back (document.body.dataset.busy = \"0\")", || {
        (eval(tab, "document.body.dataset.busy") == serde_json::json!("0")).then_some(())
    });
}

#[test]
fn the_playground_answers_digits_drawn_in_a_real_browser() {
    let runs = runs();
    let server = serve(runs);
    let browser = chromium();
    let tab = browser.new_tab().unwrap();
    tab.navigate_to(&format!("http://{}/playground", server.addr)).unwrap().wait_until_navigated().unwrap();
    tab.wait_for_element(".card[data-run=\"clf\"]").unwrap();
    idle(&tab);
    let pad: serde_json::Value = serde_json::from_str(eval(&tab, "JSON.stringify(document.getElementById('pad').getBoundingClientRect())").as_str().unwrap()).unwrap();
    let (left, top, cell) = (pad["left"].as_f64().unwrap(), pad["top"].as_f64().unwrap(), pad["width"].as_f64().unwrap() / 28.0);
    let digits: serde_json::Value = serde_json::from_str(eval(&tab, "fetch('/api/digits').then(r => r.text())").as_str().unwrap()).unwrap();
    let digits = digits["digits"].as_array().unwrap();
    assert!(digits.len() >= 10, "{digits:?}");
    let mut right = 0;
    for d in &digits[..10] {
        let label = d["label"].as_u64().unwrap();
        let pixels: Vec<f64> = d["pixels"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        tab.find_element("#clear").unwrap().click().unwrap();
        idle(&tab);
        // The digit as horizontal strokes through every other row (the brush is two cells wide).
        for y in (0..28).step_by(2) {
            let ink = |x: usize| pixels[y * 28 + x].max(if y + 1 < 28 { pixels[(y + 1) * 28 + x] } else { 0.0 }) > 0.35;
            let mut x = 0;
            while x < 28 {
                if !ink(x) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < 28 && ink(x) {
                    x += 1;
                }
                let at = |col: f64| Point { x: left + (col + 0.5) * cell, y: top + (y as f64 + 1.0) * cell };
                use Input::DispatchMouseEventTypeOption::{MouseMoved, MousePressed, MouseReleased};
                mouse(&tab, MouseMoved, at(start as f64), false);
                mouse(&tab, MousePressed, at(start as f64), true);
                mouse(&tab, MouseMoved, at((start + x - 1) as f64 / 2.0), true);
                mouse(&tab, MouseMoved, at((x - 1) as f64), true);
                mouse(&tab, MouseReleased, at((x - 1) as f64), false);
            }
        }
        idle(&tab);
        let top_class = eval(&tab, "document.querySelector('.card[data-run=\"clf\"]').dataset.top");
        if top_class.as_str().and_then(|t| t.parse::<u64>().ok()) == Some(label) {
            right += 1;
        }
    }
    assert!(right >= 6, "the classifier read {right} of 10 drawn digits");
    // The denoiser shows the noisy input and its output; the VAE its code in the latent plane.
    assert_eq!(eval(&tab, "document.querySelector('.card[data-run=\"denoiser\"]').dataset.output"), serde_json::json!("1"));
    assert_eq!(eval(&tab, "document.querySelectorAll('.card[data-run=\"denoiser\"] canvas.img').length"), serde_json::json!(2));
    tab.wait_for_element("canvas.plane[data-run=\"vae\"]").unwrap();
    // The scatter arrives on its own request: wait until the plane has points drawn.
    let drawn = "(() => { const c = document.querySelector('canvas.plane[data-run=\"vae\"]'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] !== 255 || d[i+1] !== 255 || d[i+2] !== 255) n++; return n; })()";
    poll_page("the VAE's latent plane to show its scatter (100 points drawn)", || (eval(&tab, drawn).as_u64().unwrap_or(0) >= 100).then_some(()));
    let plane: serde_json::Value = serde_json::from_str(eval(&tab, "JSON.stringify(document.querySelector('canvas.plane[data-run=\"vae\"]').getBoundingClientRect())").as_str().unwrap()).unwrap();
    let centre = Point { x: plane["left"].as_f64().unwrap() + plane["width"].as_f64().unwrap() / 2.0, y: plane["top"].as_f64().unwrap() + plane["height"].as_f64().unwrap() / 2.0 };
    tab.click_point(centre).unwrap();
    let decoded = "(() => { const c = document.querySelector('.card[data-run=\"vae\"] canvas.decoded'); if (!c.dataset.decoded) return -1; const d = c.getContext('2d').getImageData(0, 0, 28, 28).data; let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s; })()";
    let v = poll_page("the VAE's card to decode the point clicked in its plane", || Some(eval(&tab, decoded).as_i64().unwrap_or(-1)).filter(|v| *v >= 0));
    assert!(v > 28 * 28 * 5, "the decoded image is nearly black ({v})");
    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true).unwrap();
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("playground.png");
    std::fs::write(&shot, &png).unwrap();
    assert!(image::load_from_memory(&png).unwrap().width() >= 1000);
    eprintln!("screenshot: {}", shot.display());
}
