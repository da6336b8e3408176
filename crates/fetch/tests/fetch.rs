//! Downloads against a real HTTP server on 127.0.0.1 started by the test (tiny_http), serving
//! copies of the repository's MNIST files, corrupted and shortened copies, a tiny generated LFW
//! archive; plus a server that dies in the middle of a response and a port nobody listens on.
//! Every failure must name the URL, leave nothing in the data home and keep what was there.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mnist_data::{FILE_NAMES, NamedSet};
use mnist_fetch::{FetchError, Outcome, Plan, Progress, Remote, fetch, plan};
use sha2::{Digest, Sha256};

fn repo_mnist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist")
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A tiny_http server on a free port serving `files` (URL path → bytes) until the test ends;
/// any other path is a 404. Returns its base URL.
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let response = match files.get(request.url()) {
                Some(bytes) => tiny_http::Response::from_data(bytes.clone()),
                None => tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404),
            };
            let _ = request.respond(response);
        }
    });
    base
}

/// A server that announces `len` bytes, sends only `bytes` and closes the connection: a transfer
/// cut in the middle (tiny_http would keep the connection open, so this one writes HTTP itself).
fn serve_cut(bytes: Vec<u8>, len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\n\r\n");
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
            // Dropping the stream closes it: the client sees the end after `bytes`.
        }
    });
    base
}

/// A URL on a port nobody listens on.
fn unreachable() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn mnist_files(prefix: &str, change: impl Fn(&mut Vec<u8>)) -> HashMap<String, Vec<u8>> {
    FILE_NAMES
        .iter()
        .map(|f| {
            let mut bytes = std::fs::read(repo_mnist().join(f)).unwrap();
            change(&mut bytes);
            (format!("{prefix}/{f}"), bytes)
        })
        .collect()
}

/// Every file name under `dir`, recursively (temporary files included: they start with a dot).
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(listing(&p).into_iter().map(|n| format!("{}/{n}", p.file_name().unwrap().to_string_lossy())));
            } else {
                out.push(p.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_mirror_serving_the_real_files_fills_the_data_home_and_a_second_fetch_skips_them() {
    let base = serve(mnist_files("/m", |_| {}));
    let home = tempfile::tempdir().unwrap();
    let p = plan(NamedSet::Mnist, home.path(), Some(&format!("{base}/m/")));
    let done = fetch(&p, Progress::Quiet).unwrap();
    assert_eq!(done.len(), 4);
    for (i, (file, outcome)) in done.iter().enumerate() {
        assert_eq!(file, FILE_NAMES[i]);
        assert_eq!(outcome, &Outcome::Downloaded(format!("{base}/m/{file}")));
        assert_eq!(std::fs::read(p.dest.join(file)).unwrap(), std::fs::read(repo_mnist().join(file)).unwrap());
    }
    let mut names: Vec<String> = FILE_NAMES.iter().map(|s| s.to_string()).collect();
    names.sort();
    assert_eq!(listing(&p.dest), names, "no temporary file is left");
    assert!(mnist_data::home::is_complete(NamedSet::Mnist, &p.dest));
    let again = fetch(&p, Progress::Quiet).unwrap();
    assert!(again.iter().all(|(_, o)| *o == Outcome::AlreadyThere), "{again:?}");
}

#[track_caller]
fn refused(p: &Plan, needles: &[&str]) -> FetchError {
    let err = fetch(p, Progress::Quiet).unwrap_err();
    let text = err.to_string();
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
    assert!(listing(&p.dest).is_empty(), "left behind: {:?}", listing(&p.dest));
    err
}

#[test]
fn a_corrupted_a_shortened_a_cut_and_a_missing_file_leave_nothing_and_say_so() {
    let home = tempfile::tempdir().unwrap();
    let first = FILE_NAMES[0];

    let corrupt = serve(mnist_files("/c", |b| b[1000] ^= 0xff));
    let p = plan(NamedSet::Mnist, home.path(), Some(&format!("{corrupt}/c")));
    let err = refused(&p, &[&format!("{corrupt}/c/{first}"), "does not match the published", NamedSet::Mnist.sha256()[0], "nothing of it was kept"]);
    assert!(matches!(err, FetchError::Checksum { .. }), "{err:?}");

    let short = serve(mnist_files("/s", |b| b.truncate(b.len() / 2)));
    let p = plan(NamedSet::Mnist, home.path(), Some(&format!("{short}/s")));
    refused(&p, &[&format!("{short}/s/{first}"), "does not match the published"]);

    let real = std::fs::read(repo_mnist().join(first)).unwrap();
    let cut = serve_cut(real[..real.len() / 3].to_vec(), real.len());
    let p = plan(NamedSet::Mnist, home.path(), Some(&cut));
    let err = refused(&p, &[&format!("{cut}/{first}"), "was cut after", &format!("of {} bytes", real.len()), "nothing of it was kept"]);
    assert!(matches!(err, FetchError::Cut { .. }), "{err:?}");

    let missing = serve(HashMap::new());
    let p = plan(NamedSet::Mnist, home.path(), Some(&missing));
    refused(&p, &[&format!("{missing}/{first}"), "HTTP 404"]);

    let nobody = unreachable();
    let p = plan(NamedSet::FashionMnist, home.path(), Some(&nobody));
    let err = refused(&p, &[&format!("{nobody}/{first}"), "cannot download", "--mirror"]);
    assert!(matches!(err, FetchError::Unreachable { .. }), "{err:?}");
}

#[test]
fn each_url_is_tried_in_turn_and_all_failures_are_listed() {
    let home = tempfile::tempdir().unwrap();
    let good = serve(mnist_files("", |_| {}));
    let nobody = unreachable();
    let mut p = plan(NamedSet::Mnist, home.path(), Some(&good));
    for remote in &mut p.files {
        remote.urls.insert(0, format!("{nobody}/{}", remote.file));
    }
    let done = fetch(&p, Progress::Quiet).unwrap();
    assert_eq!(done[0].1, Outcome::Downloaded(format!("{good}/{}", FILE_NAMES[0])));

    let home = tempfile::tempdir().unwrap();
    let p = Plan {
        name: "x".into(),
        dest: home.path().join("x"),
        files: vec![Remote { file: "f.gz".into(), sha256: sha(b"f"), urls: vec![format!("{nobody}/f.gz"), format!("{good}/f.gz")] }],
        unpack: false,
    };
    refused(&p, &["could not fetch f.gz", &format!("{nobody}/f.gz"), &format!("{good}/f.gz"), "HTTP 404"]);
}

#[test]
fn a_foreign_file_already_in_the_data_home_is_left_alone() {
    let base = serve(mnist_files("", |_| {}));
    let home = tempfile::tempdir().unwrap();
    let p = plan(NamedSet::Mnist, home.path(), Some(&base));
    std::fs::create_dir_all(&p.dest).unwrap();
    std::fs::write(p.dest.join(FILE_NAMES[0]), b"mine").unwrap();
    let err = fetch(&p, Progress::Quiet).unwrap_err();
    assert!(err.to_string().contains("is already there but is not the published file"), "{err}");
    assert_eq!(std::fs::read(p.dest.join(FILE_NAMES[0])).unwrap(), b"mine");
}

/// A gzip-compressed tar of `entries` (path, bytes) written with raw headers, so paths that tar's
/// own builder refuses (`..`) can be made too; `link` adds a symbolic link entry.
fn tgz(entries: &[(&str, &[u8])], link: Option<(&str, &str)>) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, bytes) in entries {
        let mut header = tar::Header::new_old();
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *bytes).unwrap();
    }
    if let Some((path, target)) = link {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder.append_link(&mut header, path, target).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn lfw_plan(home: &Path, base: &str, archive: &[u8]) -> Plan {
    let mut p = plan(NamedSet::Lfw, home, Some(base));
    p.files[0].sha256 = sha(archive);
    p
}

#[test]
fn an_image_archive_is_unpacked_whole_or_not_at_all() {
    let faces = tgz(&[("lfw/Ada_Lovelace/Ada_Lovelace_0001.jpg", b"jpeg 1"), ("lfw/Alan_Turing/Alan_Turing_0001.jpg", b"jpeg 2")], None);
    let escape = tgz(&[("lfw/A/A_0001.jpg", b"ok"), ("lfw/../../evil.jpg", b"evil")], None);
    let linked = tgz(&[("lfw/A/A_0001.jpg", b"ok")], Some(("lfw/A/link.jpg", "/etc/passwd")));
    let base = serve(HashMap::from([
        ("/ok/lfw.tgz".to_string(), faces.clone()),
        ("/escape/lfw.tgz".to_string(), escape.clone()),
        ("/link/lfw.tgz".to_string(), linked.clone()),
        ("/garbage/lfw.tgz".to_string(), b"<html>not an archive</html>".to_vec()),
    ]));
    let home = tempfile::tempdir().unwrap();

    // The real pin refuses the tiny archive.
    let real = plan(NamedSet::Lfw, home.path(), Some(&format!("{base}/ok")));
    refused(&real, &["lfw.tgz", "055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0"]);
    assert!(listing(home.path()).is_empty(), "{:?}", listing(home.path()));

    for (case, archive, needle) in [("escape", &escape, "evil.jpg"), ("link", &linked, "not a regular file"), ("garbage", &b"<html>not an archive</html>".to_vec(), "cannot unpack")] {
        let p = lfw_plan(home.path(), &format!("{base}/{case}"), archive);
        refused(&p, &[needle, "nothing was kept"]);
        assert!(listing(home.path()).is_empty(), "{case}: {:?}", listing(home.path()));
    }

    let p = lfw_plan(home.path(), &format!("{base}/ok"), &faces);
    fetch(&p, Progress::Quiet).unwrap();
    assert_eq!(listing(&p.dest), [".complete", "Ada_Lovelace/Ada_Lovelace_0001.jpg", "Alan_Turing/Alan_Turing_0001.jpg"]);
    assert_eq!(std::fs::read(p.dest.join("Alan_Turing/Alan_Turing_0001.jpg")).unwrap(), b"jpeg 2");
    assert_eq!(listing(home.path()).len(), 3, "the archive and temporary folders are gone: {:?}", listing(home.path()));
    assert!(mnist_data::home::is_complete(NamedSet::Lfw, &p.dest));
    assert_eq!(fetch(&p, Progress::Quiet).unwrap()[0].1, Outcome::AlreadyThere);
}
