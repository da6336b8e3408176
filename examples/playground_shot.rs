//! README's playground picture from real runs: serves a folder of trained runs on a free port,
//! opens the playground in headless Chromium (Debian's `/usr/bin/chromium`), clicks one of the
//! real test digits, waits until every model has answered and a 2-D VAE's plane is drawn, decodes
//! the plane's centre, and saves the page as a PNG. `scripts/gallery.sh` runs it on the runs it trains:
//!
//! ```sh
//! cargo run --example playground_shot -- artifacts/gallery docs/figures/playground.png [DIGIT]
//! ```
//! `DIGIT` is the position of the test digit in the page's row (0 = the first, a 7).

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};

/// How long any wait may last before it is taken for a hang.
const BOUND: Duration = Duration::from_secs(300);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [runs, out, rest @ ..] = args.as_slice() else {
        bail!("usage: playground_shot RUNS_DIR OUT.png [DIGIT]");
    };
    let digit: usize = rest.first().map(|d| d.parse().context("DIGIT: expected a whole number")).transpose()?.unwrap_or(0);
    let (runs, out) = (PathBuf::from(runs), PathBuf::from(out));

    // The server runs in this process, on its own runtime, until the process ends.
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    let folder = runs.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
        if let Err(e) = runtime.block_on(mnist_serve::serve(&folder, SocketAddr::from(([127, 0, 0, 1], 0)), |bound| {
            let _ = tx.send(bound);
        })) {
            eprintln!("error: {e}");
        }
    });
    let addr = rx.recv_timeout(BOUND).with_context(|| format!("serve did not start on {}", runs.display()))?;

    let chromium = PathBuf::from("/usr/bin/chromium");
    if !chromium.is_file() {
        bail!("this needs Debian's chromium (/usr/bin/chromium): scripts/deps.sh chromium installs it");
    }
    let flags: Vec<&OsStr> = ["--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"].iter().map(OsStr::new).collect();
    let options = LaunchOptions::default_builder().path(Some(chromium)).headless(true).sandbox(false).window_size(Some((1400, 1000))).args(flags).build()?;
    let browser = Browser::new(options)?;
    let tab = browser.new_tab()?;
    tab.navigate_to(&format!("http://{addr}/playground"))?.wait_until_navigated()?;
    tab.wait_for_element("#digits button.digit").context("the playground shows no real test digits (is MNIST in the data home or data/mnist?)")?;
    wait(&tab, "the first answers", "document.body.dataset.busy === '0'")?;
    let buttons = eval(&tab, "document.querySelectorAll('#digits button.digit').length")?.as_u64().unwrap_or(0) as usize;
    if digit >= buttons {
        bail!("DIGIT {digit}: the page shows {buttons} test digits");
    }
    eval(&tab, &format!("document.querySelectorAll('#digits button.digit')[{digit}].click()"))?;
    wait(&tab, "every model's answer", "document.body.dataset.busy === '0'")?;
    // A 2-D VAE's plane gets its scatter from its own request: wait until points are drawn.
    wait(
        &tab,
        "the latent planes' points",
        "[...document.querySelectorAll('canvas.plane')].every(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] !== 255 || d[i+1] !== 255 || d[i+2] !== 255) n++; return n > 100; })",
    )?;
    // Decode a point of each plane (its centre), so the decoded digit beside it is shown too.
    let planes = eval(&tab, "JSON.stringify([...document.querySelectorAll('canvas.plane')].map(c => c.getBoundingClientRect()))")?;
    let planes: Vec<serde_json::Value> = serde_json::from_str(planes.as_str().unwrap_or("[]"))?;
    for rect in &planes {
        let (x, y) = (rect["left"].as_f64().unwrap_or(0.0) + rect["width"].as_f64().unwrap_or(0.0) / 2.0, rect["top"].as_f64().unwrap_or(0.0) + rect["height"].as_f64().unwrap_or(0.0) / 2.0);
        tab.click_point(Point { x, y })?;
    }
    if !planes.is_empty() {
        wait(&tab, "the decoded points", "[...document.querySelectorAll('canvas.decoded')].every(c => c.dataset.decoded)")?;
    }
    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)?;
    std::fs::write(&out, png).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}", out.display());
    Ok(())
}

/// Evaluates `js` in the page; its value as JSON.
fn eval(tab: &Tab, js: &str) -> anyhow::Result<serde_json::Value> {
    Ok(tab.evaluate(js, true)?.value.unwrap_or(serde_json::Value::Null))
}

/// Polls `js` until it is true; an error naming `what` after [`BOUND`].
fn wait(tab: &Tab, what: &str, js: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while eval(tab, js)? != serde_json::json!(true) {
        if start.elapsed() > BOUND {
            bail!("gave up waiting for {what} after {} s", BOUND.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
