//! `report.html`: one self-contained page per run (config, model summary, final metrics, PCA
//! bound, every figure embedded as a base64 PNG data URI), readable offline in any browser.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mnist_runs::metrics::MetricRow;
use mnist_runs::{Averages, LoadedRun};

use crate::figures::Output;

pub(crate) const STYLE: &str = "body{font-family:sans-serif;max-width:1320px;margin:2em auto;padding:0 1em;color:#222}\
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}\
th:first-child,td:first-child{text-align:left}pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:13px}\
figure{margin:1.2em 0}img{max-width:100%;height:auto;border:1px solid #eee}figcaption{color:#555;margin-top:.3em}\
.meta{color:#555}";

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

fn cell(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "".into())
}

/// A metrics table: one row per `(label, values)`, columns present in any row.
pub(crate) fn metrics_table(rows: &[(String, [Option<f64>; 7])]) -> String {
    const NAMES: [&str; 7] = [
        "loss",
        "reconstruction",
        "KL",
        "accuracy",
        "MSE",
        "PSNR (dB)",
        "L2 penalty",
    ];
    let present: Vec<usize> = (0..NAMES.len())
        .filter(|&i| rows.iter().any(|(_, v)| v[i].is_some()))
        .collect();
    let mut s = String::from("<table><tr><th></th>");
    for &i in &present {
        s += &format!("<th>{}</th>", NAMES[i]);
    }
    s += "</tr>";
    for (label, values) in rows {
        s += &format!("<tr><td>{}</td>", escape(label));
        for &i in &present {
            s += &format!("<td>{}</td>", cell(values[i]));
        }
        s += "</tr>";
    }
    s + "</table>"
}

pub(crate) fn from_row(r: &MetricRow) -> [Option<f64>; 7] {
    [
        Some(r.metrics.loss),
        r.metrics.reconstruction,
        r.metrics.kl,
        r.metrics.accuracy,
        r.metrics.mse,
        r.metrics.psnr,
        r.metrics.l2,
    ]
}

pub(crate) fn from_averages(a: &Averages) -> [Option<f64>; 7] {
    [
        Some(a.loss),
        a.reconstruction,
        a.kl,
        a.accuracy,
        a.mse,
        a.psnr,
        a.l2,
    ]
}

/// The whole page.
pub fn page(loaded: &LoadedRun, test: &Averages, metrics: &[MetricRow], output: &Output) -> String {
    let config = loaded.experiment.config();
    let name = escape(&config.experiment.name);
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name}: run report</title><style>{STYLE}</style></head><body>\n"
    );
    s += &format!(
        "<h1>{name} <small>({})</small></h1>\n",
        escape(config.model.kind())
    );
    s += &format!(
        "<p class=\"meta\">Run directory <code>{}</code>, checkpoint <code>{}</code> (epoch {}), backend {}. Written by <code>report</code>.</p>\n",
        escape(&loaded.run.path().display().to_string()),
        escape(&loaded.checkpoint.dir.display().to_string()),
        loaded.checkpoint.state.epoch,
        escape(loaded.backend.name()),
    );

    s += "<h2>Final metrics</h2>\n";
    let mut rows = Vec::new();
    for split in ["train", "validation"] {
        if let Some(r) = metrics.iter().rev().find(|r| r.split == split) {
            rows.push((format!("{split}, epoch {}", r.epoch), from_row(r)));
        }
    }
    rows.push((
        format!("test, this checkpoint ({} samples)", test.samples),
        from_averages(test),
    ));
    s += &metrics_table(&rows);
    s += "\n";

    if let Some(pca) = &output.pca {
        s += "<h2>PCA bound</h2>\n<table><tr><th>component</th><th>explained variance</th><th>ratio</th></tr>";
        for (i, (v, r)) in pca
            .explained_variance
            .iter()
            .zip(&pca.explained_variance_ratio)
            .enumerate()
        {
            s += &format!("<tr><td>{}</td><td>{v:.4}</td><td>{r:.4}</td></tr>", i + 1);
        }
        s += "</table>\n";
        s += &format!(
            "<p>With k = {} components ({:.1}% of the variance), PCA reconstructs the {} test images with a mean squared error of <b>{:.6}</b> per pixel (normalized units; {:.6} on the {} training images): no linear autoencoder with a {}-dimensional code can do better.{}</p>\n",
            pca.k,
            100.0 * pca.cumulative_ratio_k,
            pca.test_samples,
            pca.bound_test_mse,
            pca.bound_train_mse,
            pca.fit_samples,
            pca.k,
            pca.run_test_mse
                .map(|m| format!(" This run reaches <b>{m:.6}</b> on the same clean test images."))
                .unwrap_or_default()
        );
    }

    s += "<h2>Figures</h2>\n";
    for f in &output.figures {
        s += &format!(
            "<figure id=\"{}\"><h3>{}</h3><img src=\"data:image/png;base64,{}\" width=\"{}\" height=\"{}\" alt=\"{}\"><figcaption>{} <code>plots/{}</code></figcaption></figure>\n",
            escape(&f.file),
            escape(&f.title),
            STANDARD.encode(&f.png.bytes),
            f.png.width,
            f.png.height,
            escape(&f.title),
            escape(&f.caption),
            escape(&f.file),
        );
    }
    if !output.skipped.is_empty() {
        s += "<h2>Figures that do not apply</h2>\n<ul>";
        for k in &output.skipped {
            s += &format!(
                "<li><code>{}</code>: {}</li>",
                escape(&k.figure),
                escape(&k.reason)
            );
        }
        s += "</ul>\n";
    }

    s += &format!(
        "<h2>Model</h2>\n<pre>{}</pre>\n",
        escape(&loaded.model.summary().to_string())
    );
    let config_text = loaded
        .run
        .read_config()
        .unwrap_or_else(|e| format!("(cannot read the config: {e})"));
    s += &format!("<h2>Config</h2>\n<pre>{}</pre>\n", escape(&config_text));
    s + "</body></html>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
