//! `serve`: a local web page over a folder of runs. The runs page lists every run (live, by
//! polling `/api/runs`), opens their reports and overlays their curves; the playground page sends
//! a drawing to every run at once and shows their answers. Nothing here writes or deletes a file;
//! only files inside the runs folder are served.
//!
//! The API (all JSON): `GET /api/runs`, `GET /api/curves?run=NAME`, `POST /api/answer`
//! (`{ image, width, height, noise }`: a base64 grey drawing), `GET /api/scatter?run=NAME`,
//! `GET /api/decode?run=NAME&x=X&y=Y`, `GET /api/digits` (`{ digits: [{ label, pixels }], source }`
//! or, with no MNIST found, `{ digits: [], missing }`: where it was looked for, how to fetch it);
//! files under `/runs/<path>`.
//!
//! May import: `mnist-config`, `mnist-runs` (runs and their files), `mnist-inference` (answers),
//! `mnist-report` (device read-back), `mnist-data`, `mnist-models`. Never the trainer.

pub mod digits;
pub mod infer;
pub mod runs;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::digits::Digits;
use crate::infer::Models;
use mnist_inference::digit::{Polarity, SIDE, prepare};

/// The largest request body accepted: a drawing is a few kilobytes.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The largest drawing, in pixels per side.
const MAX_DRAWING: usize = 512;
/// Real test digits offered on the playground.
const DIGITS: usize = 12;

/// Errors of `serve`'s start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The runs folder is missing.
    #[error(
        "runs folder {0} does not exist (train a model first, e.g. `train --config configs/mlp.toml`, or pass --runs DIR)"
    )]
    NoRuns(PathBuf),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

/// What the handlers share.
pub struct AppState {
    /// The runs folder, canonical.
    root: PathBuf,
    models: Models,
    digits: OnceLock<Digits>,
}

impl AppState {
    /// State over the runs folder `root`.
    pub fn new(root: &Path) -> Result<Arc<AppState>, ServeError> {
        let root =
            std::fs::canonicalize(root).map_err(|_| ServeError::NoRuns(root.to_path_buf()))?;
        if !root.is_dir() {
            return Err(ServeError::NoRuns(root));
        }
        Ok(Arc::new(AppState {
            root,
            models: Models::default(),
            digits: OnceLock::new(),
        }))
    }
}

/// The page's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { Html(include_str!("../assets/runs.html")) }),
        )
        .route(
            "/playground",
            get(|| async { Html(include_str!("../assets/playground.html")) }),
        )
        .route("/api/runs", get(api_runs))
        .route("/api/curves", get(api_curves))
        .route("/api/answer", post(api_answer))
        .route("/api/scatter", get(api_scatter))
        .route("/api/decode", get(api_decode))
        .route("/api/digits", get(api_digits))
        .route("/runs/{*path}", get(run_file))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Serves `root` on `addr` until the process ends; `ready` gets the bound address (port 0 picks a
/// free one).
pub async fn serve(
    root: &Path,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let state = AppState::new(root)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    ready(bound);
    axum::serve(listener, router(state))
        .await
        .map_err(|source| ServeError::Bind {
            addr: bound.to_string(),
            source,
        })
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn api_runs(State(state): State<Arc<AppState>>) -> Response {
    let root = state.root.clone();
    let runs = tokio::task::spawn_blocking(move || runs::scan(&root))
        .await
        .unwrap_or_default();
    state.models.forget_missing();
    Json(json!({ "root": state.root.display().to_string(), "runs": runs })).into_response()
}

#[derive(Deserialize)]
struct RunQuery {
    run: String,
}

/// The run directory of `name`, or a 404 naming it.
fn run_dir(state: &AppState, name: &str) -> Result<PathBuf, Response> {
    runs::find(&state.root, name).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            format!("no run {name:?} in {}", state.root.display()),
        )
    })
}

async fn api_curves(State(state): State<Arc<AppState>>, Query(q): Query<RunQuery>) -> Response {
    let dir = match run_dir(&state, &q.run) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let rows = runs::curves(&dir);
    let rows: Vec<_> = rows.iter().map(|r| json!({ "epoch": r.epoch, "split": r.split, "loss": r.metrics.loss, "accuracy": r.metrics.accuracy })).collect();
    Json(json!({ "run": q.run, "rows": rows })).into_response()
}

#[derive(Deserialize)]
struct Drawing {
    /// Grey levels (0 background, 255 ink), one byte per pixel, base64.
    image: String,
    width: usize,
    height: usize,
    /// Noise strength per run name (denoisers).
    #[serde(default)]
    noise: HashMap<String, f32>,
}

async fn api_answer(
    State(state): State<Arc<AppState>>,
    body: Result<Json<Drawing>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(d) = match body {
        Ok(b) => b,
        Err(e) => {
            return error(
                e.status(),
                format!("expected {{ image, width, height }}: {}", e.body_text()),
            );
        }
    };
    if d.width == 0 || d.height == 0 || d.width > MAX_DRAWING || d.height > MAX_DRAWING {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "a drawing is 1 to {MAX_DRAWING} pixels per side, not {} × {}",
                d.width, d.height
            ),
        );
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(d.image.as_bytes()) else {
        return error(StatusCode::BAD_REQUEST, "image is not base64");
    };
    if bytes.len() != d.width * d.height {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "image has {} bytes, not width × height = {}",
                bytes.len(),
                d.width * d.height
            ),
        );
    }
    let state2 = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        let grey: Vec<f32> = bytes.iter().map(|&b| b as f32 / 255.0).collect();
        // A drawing on the canvas, or a photographed digit: the one preparation `mnist_inference`
        // gives every user image (polarity, paper, contrast, fit and centre).
        let digit = prepare(&grey, d.width, d.height, Polarity::Auto);
        let answers: Vec<_> = runs::scan(&state2.root)
            .into_iter()
            .map(|r| {
                let dir = state2.root.join(&r.name);
                let noise = d.noise.get(&r.name).copied();
                match state2.models.answer(&dir, &digit, noise) {
                    Ok(a) => json!({ "run": r.name, "kind": r.kind, "task": r.task, "answer": a }),
                    Err(e) => json!({ "run": r.name, "kind": r.kind, "task": r.task, "error": e.to_string() }),
                }
            })
            .collect();
        json!({ "input": digit, "side": SIDE, "runs": answers })
    })
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn api_scatter(State(state): State<Arc<AppState>>, Query(q): Query<RunQuery>) -> Response {
    let dir = match run_dir(&state, &q.run) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let s2 = state.clone();
    match tokio::task::spawn_blocking(move || s2.models.scatter(&dir)).await {
        Ok(Ok(s)) => Json(json!({ "run": q.run, "scatter": *s })).into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
struct DecodeQuery {
    run: String,
    x: f32,
    y: f32,
}

async fn api_decode(State(state): State<Arc<AppState>>, Query(q): Query<DecodeQuery>) -> Response {
    let dir = match run_dir(&state, &q.run) {
        Ok(d) => d,
        Err(r) => return r,
    };
    if !(q.x.is_finite() && q.y.is_finite()) {
        return error(StatusCode::BAD_REQUEST, "x and y must be finite numbers");
    }
    let s2 = state.clone();
    match tokio::task::spawn_blocking(move || s2.models.decode(&dir, q.x, q.y)).await {
        Ok(Ok(image)) => {
            Json(json!({ "run": q.run, "image": image, "side": SIDE })).into_response()
        }
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn api_digits(State(state): State<Arc<AppState>>) -> Response {
    let s2 = state.clone();
    let answer = tokio::task::spawn_blocking(move || {
        if let Some(d) = s2.digits.get() {
            return d.clone();
        }
        let home = mnist_data::home::data_home();
        let cwd = std::env::current_dir().ok();
        let found = digits::find(&s2.root, home.as_deref(), cwd.as_deref(), DIGITS);
        // Kept once found; until then every request looks again (the set may be fetched meanwhile).
        if !found.digits.is_empty() {
            let _ = s2.digits.set(found.clone());
        }
        found
    })
    .await;
    match answer {
        Ok(d) => Json(d).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// A file inside the runs folder: `..`, absolute paths and links leading outside are refused.
async fn run_file(State(state): State<Arc<AppState>>, UrlPath(path): UrlPath<String>) -> Response {
    match safe_path(&state.root, &path) {
        Some(file) => match tokio::task::spawn_blocking({
            let file = file.clone();
            move || std::fs::read(file)
        })
        .await
        {
            Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response(),
            _ => error(
                StatusCode::NOT_FOUND,
                format!("no file {path:?} in the runs folder"),
            ),
        },
        None => error(
            StatusCode::NOT_FOUND,
            format!("no file {path:?} in the runs folder"),
        ),
    }
}

/// `rel` inside `root` (canonical), if it names a file there after every link is resolved.
pub fn safe_path(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let file = std::fs::canonicalize(root.join(rel)).ok()?;
    (file.starts_with(root) && file.is_file()).then_some(file)
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "csv" | "md" | "toml" | "txt" | "log" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_the_folder_are_served() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("runs");
        std::fs::create_dir_all(root.join("a/plots")).unwrap();
        std::fs::write(root.join("a/plots/x.png"), b"png").unwrap();
        std::fs::write(outer.path().join("secret.txt"), b"no").unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        assert_eq!(
            safe_path(&root, "a/plots/x.png"),
            Some(root.join("a/plots/x.png"))
        );
        for bad in [
            "../secret.txt",
            "a/../../secret.txt",
            "/etc/passwd",
            "a/plots",
            "a/missing.png",
            "",
        ] {
            assert_eq!(safe_path(&root, bad), None, "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outer.path().join("secret.txt"), root.join("a/link.txt"))
                .unwrap();
            assert_eq!(
                safe_path(&root, "a/link.txt"),
                None,
                "a link out of the folder"
            );
        }
    }
}
