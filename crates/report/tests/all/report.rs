//! `report` on a tiny VAE: every figure that applies, at its documented size and with the right
//! pixels, the PCA files, the TensorBoard event file parsed back and the HTML page.

use std::collections::BTreeMap;

use base64::Engine;
use mnist_report::figures::latent_scatter;
use mnist_report::grid::{LABEL_WIDTH, MARGIN, TITLE_HEIGHT, figure_size};
use mnist_report::plot::{HEADING_HEIGHT, PALETTE, PANEL_HEIGHT, PANEL_WIDTH};
use mnist_report::runfiles::read_metrics;
use mnist_report::tensorboard::{FILE_VERSION, read_events, read_scalars};
use mnist_report::{ReportOptions, generate_report};

use crate::common::{load_png, raw_test_images, train_run};

const VAE: &str = "[model]\nkind = \"vae\"\nencoder = [{ units = 64 }]\nlatent_dim = 2\ndecoder = [{ units = 64 }]\n\n\
[training]\nepochs = 4\nbatch_size = 64\nloss = \"bce\"\nlearning_rate = 0.002\noptimizer = { kind = \"adam\" }\n";

#[test]
fn vae_report_draws_every_applicable_figure() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_run(
        dir.path(),
        "vae",
        "normalization = \"unit\"\ntrain_limit = 3000\ntest_limit = 100\n",
        VAE,
    );
    let outcome = generate_report(&run, &ReportOptions::default()).unwrap();

    // Every figure that applies to a 2-D VAE, at its documented size, valid on disk.
    let sizes: BTreeMap<String, (u32, u32)> = outcome
        .figures
        .iter()
        .map(|f| {
            (
                f.path.file_name().unwrap().to_string_lossy().into_owned(),
                (f.width, f.height),
            )
        })
        .collect();
    let expected: BTreeMap<String, (u32, u32)> = [
        ("loss_curves.png", (3 * PANEL_WIDTH, PANEL_HEIGHT + HEADING_HEIGHT)),
        ("reconstructions.png", figure_size(10, 2, 3, true)),
        (
            "latent_scatter.png",
            (latent_scatter::WIDTH, latent_scatter::HEIGHT),
        ),
        ("latent_manifold.png", (940, 955)),
        ("samples.png", figure_size(10, 10, 2, false)),
        ("weights_first_layer.png", figure_size(8, 8, 2, false)),
        ("weights_last_layer.png", figure_size(8, 8, 2, false)),
        ("pca_components.png", figure_size(10, 1, 2, true)),
        ("pca_variance.png", (2 * PANEL_WIDTH, PANEL_HEIGHT + HEADING_HEIGHT)),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(sizes, expected);
    assert_eq!(figure_size(10, 2, 3, true), (1080, 232));
    for f in &outcome.figures {
        let img = load_png(&f.path);
        assert_eq!(
            (img.width(), img.height()),
            (f.width, f.height),
            "{}",
            f.path.display()
        );
    }
    let skipped: Vec<&str> = outcome.skipped.iter().map(|s| s.figure.as_str()).collect();
    assert_eq!(skipped, ["steps.png", "confusion.png", "mistakes.png", "denoising.png", "latent_tsne.png"]);

    // Reconstructions: the top row is exactly the first ten test digits (unit normalization
    // maps grey level g to byte g), each pixel a 3×3 block; the title is rendered text.
    let img = load_png(&run.join("plots/reconstructions.png"));
    let raw = raw_test_images(10);
    let (left, top) = (MARGIN + LABEL_WIDTH, MARGIN + TITLE_HEIGHT);
    for digit in [0usize, 9] {
        let x0 = left + digit as u32 * (84 + 4);
        for (r, c) in [(5, 5), (14, 14), (20, 10), (27, 27)] {
            let want = raw[digit * 784 + r * 28 + c];
            assert_eq!(
                img.get_pixel(x0 + c as u32 * 3 + 1, top + r as u32 * 3 + 1)
                    .0,
                [want; 3],
                "digit {digit} pixel ({r}, {c})"
            );
        }
    }
    let title_ink = (MARGIN..MARGIN + TITLE_HEIGHT)
        .flat_map(|y| (MARGIN..400).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100)
        .count();
    assert!(
        title_ink > 200,
        "the title has {title_ink} dark pixels: is the font rendering?"
    );
    // The reconstruction row is not blank.
    let recon_row: Vec<u8> = (0..84)
        .map(|i| img.get_pixel(left + i, top + 88 + 42).0[0])
        .collect();
    assert!(recon_row.iter().any(|&v| v > 60), "{recon_row:?}");

    // Latent scatter: the legend shows the ten digit colours.
    let scatter = load_png(&run.join("plots/latent_scatter.png"));
    for (d, color) in PALETTE.iter().enumerate() {
        let px = scatter
            .get_pixel(latent_scatter::WIDTH - 110 + 24, 95 + 30 * d as u32)
            .0;
        assert_eq!(
            px,
            [color.0, color.1, color.2],
            "legend colour of digit {d}"
        );
    }
    // Manifold: decoded digits on black fill most of the picture.
    let manifold = load_png(&run.join("plots/latent_manifold.png"));
    let dark = manifold.pixels().filter(|p| p.0[0] < 64).count() as f64 / (940.0 * 951.0);
    let strokes = manifold
        .pixels()
        .filter(|p| (128..250).contains(&p.0[0]))
        .count();
    assert!(
        dark > 0.3 && strokes > 20_000,
        "{dark} dark, {strokes} stroke pixels"
    );

    // PCA: every component's variance, the summary and the bound in the run's units.
    let csv = std::fs::read_to_string(run.join("plots/pca.csv")).unwrap();
    assert_eq!(csv.lines().count(), 785);
    let ratios: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert!((ratios.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    assert!(
        ratios[0] > 0.08 && ratios[0] < 0.12 && ratios[1] < ratios[0],
        "{:?}",
        &ratios[..3]
    );
    let pca = outcome.pca.as_ref().unwrap();
    assert_eq!((pca.k, pca.fit_samples, pca.test_samples), (2, 3000, 100));
    assert!(
        pca.bound_test_mse > 0.0 && pca.bound_test_mse < 0.12,
        "{pca:?}"
    );
    assert!(pca.run_test_mse.unwrap() > 0.0);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("plots/pca.json")).unwrap()).unwrap();
    assert_eq!(json["k"], 2);
    assert!((json["bound_test_mse"].as_f64().unwrap() - pca.bound_test_mse).abs() < 1e-12);

    // TensorBoard: one event file holding every scalar of metrics.csv, step = epoch.
    let events_path = outcome.tensorboard.clone().unwrap();
    assert!(events_path.starts_with(run.join("tensorboard")));
    assert!(
        events_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("events.out.tfevents.")
    );
    assert_eq!(
        read_events(&events_path).unwrap()[0]
            .file_version
            .as_deref(),
        Some(FILE_VERSION)
    );
    let scalars = read_scalars(&events_path).unwrap();
    let metrics = read_metrics(&run.join("metrics.csv")).unwrap().unwrap();
    assert_eq!(metrics.len(), 8);
    for row in &metrics {
        let find = |tag: &str| {
            scalars
                .iter()
                .find(|s| s.tag == format!("{}/{tag}", row.split) && s.step == row.epoch as i64)
                .map(|s| s.value)
        };
        assert_eq!(find("loss"), Some(row.metrics.loss as f32));
        assert_eq!(find("kl"), row.metrics.kl.map(|v| v as f32));
        assert_eq!(find("reconstruction"), row.metrics.reconstruction.map(|v| v as f32));
        assert_eq!(find("learning_rate"), Some(row.learning_rate as f32));
        assert_eq!(find("accuracy"), None);
    }
    assert!(!run.join("plots/loss_curves.svg").exists(), "SVG only when asked for");
    // A second report replaces the event file rather than adding one; with `svg` every figure
    // also gets its SVG twin, whose text is text.
    let again = generate_report(
        &run,
        &ReportOptions {
            html: false,
            svg: true,
            ..ReportOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        mnist_report::tensorboard::event_files(&run.join("tensorboard")).unwrap(),
        vec![again.tensorboard.unwrap()]
    );
    for f in &again.figures {
        let svg = std::fs::read_to_string(f.path.with_extension("svg")).unwrap();
        assert!(svg.starts_with("<svg ") && svg.contains(&format!("viewBox=\"0 0 {} {}\"", f.width, f.height)), "{}", f.path.display());
        assert!(again.files.contains(&f.path.with_extension("svg")));
    }
    let svg = std::fs::read_to_string(run.join("plots/reconstructions.svg")).unwrap();
    assert!(svg.contains(">original</text>") && svg.contains(">vae: reconstructions of the first test digits</text>"), "text stays text");
    assert!(svg.contains("<image ") && svg.contains("data:image/png;base64,"), "the digits are one embedded image");

    // The page: self-contained, every figure embedded as a PNG data URI.
    let html = std::fs::read_to_string(outcome.html.unwrap()).unwrap();
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        outcome.figures.len()
    );
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(html.contains("<h1>vae <small>(vae)</small></h1>"));
    assert!(
        html.contains("Total params"),
        "the model summary is on the page"
    );
    assert!(html.contains("latent_dim = 2"), "the config is on the page");
    let first = html
        .split("src=\"data:image/png;base64,")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(first)
        .unwrap();
    assert_eq!(decoded, std::fs::read(&outcome.figures[0].path).unwrap());
}

#[test]
fn an_overcomplete_code_gets_no_pca_bound() {
    // 800 code values ≥ 784 pixels: PCA with k = 800 reconstructs exactly, a bound of 0.
    let dir = tempfile::tempdir().unwrap();
    let run = train_run(
        dir.path(),
        "wide_ae",
        "normalization = \"unit\"\ntrain_limit = 256\ntest_limit = 32\n",
        "[model]\nkind = \"dense_autoencoder\"\nencoder = [{ units = 800 }]\n\n\
         [training]\nepochs = 1\nbatch_size = 64\nloss = \"mse\"\nlearning_rate = 0.001\n\
         optimizer = { kind = \"adam\" }\n",
    );
    let outcome = generate_report(&run, &ReportOptions::default()).unwrap();
    let pca = outcome
        .skipped
        .iter()
        .find(|s| s.figure == "pca_components.png")
        .expect("the PCA figure is skipped");
    assert!(
        pca.reason.contains("800 values") && pca.reason.contains("784 pixels"),
        "{}",
        pca.reason
    );
    assert!(!run.join("plots/pca_components.png").exists());
    // The figures that do apply are still drawn.
    assert!(run.join("plots/reconstructions.png").exists());
}
