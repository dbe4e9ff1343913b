//! Downloads of registered datasets into the cache (`arena fetch ID`): cache-dir resolution,
//! streaming download with progress bar and checksums, and the guarantee that nothing
//! half-written or unverified is ever left in the cache (temp file + atomic rename).

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::ProgressBar;
use sha2::{Digest, Sha256};

use super::error::DataError;
use super::registry::{DatasetEntry, Source, md5_file, sha256_file};
use md5::Md5;

/// Environment variable naming the download cache.
pub const CACHE_DIR_ENV: &str = "ARENA_CACHE_DIR";

/// Sub-directory of the XDG / home cache used by the arena.
const CACHE_SUBDIR: &str = "virtual-cell-arena";

/// Prefix of in-progress downloads (in the cache root; removed on any failure).
const TEMP_PREFIX: &str = ".arena-download-";

/// How [`fetch`] behaves.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Show a progress bar on stderr (only ever drawn when stderr is a terminal).
    pub progress: bool,
    /// Download entries that have no registered checksum (prints the computed sha256).
    pub allow_unpinned: bool,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Limit for receiving the response headers.
    pub response_timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            progress: true,
            allow_unpinned: false,
            connect_timeout: Duration::from_secs(30),
            response_timeout: Duration::from_secs(120),
        }
    }
}

/// The cache directory: `explicit` (`--cache-dir`) > env `ARENA_CACHE_DIR` >
/// `$XDG_CACHE_HOME/virtual-cell-arena` > `$HOME/.cache/virtual-cell-arena`
/// (> `./.cache/virtual-cell-arena` when no home is known). It need not exist yet.
pub fn cache_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    let env_dir = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = env_dir(CACHE_DIR_ENV) {
        return dir;
    }
    // The XDG spec says relative values are invalid and must be ignored.
    if let Some(xdg) = env_dir("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return xdg.join(CACHE_SUBDIR);
    }
    match env_dir("HOME") {
        Some(home) => home.join(".cache").join(CACHE_SUBDIR),
        None => PathBuf::from(".cache").join(CACHE_SUBDIR),
    }
}

/// Where a downloaded entry lives in the cache: `<cache>/<id>/<file name>`.
pub fn cached_path(entry: &DatasetEntry, cache_dir: &Path) -> PathBuf {
    cache_dir.join(&entry.id).join(entry.file_name())
}

/// Returns the verified cached file of `entry`, downloading it first when it is absent or does
/// not verify. URLs are tried in turn; a failed or unverified download leaves nothing in the cache.
pub fn fetch(entry: &DatasetEntry, cache_dir: &Path, options: &FetchOptions) -> Result<PathBuf, DataError> {
    let Source::Urls(urls) = &entry.source else {
        return Err(DataError::Other(format!(
            "dataset '{}' is a local file of the shared data dir, not a download; see --data-dir / ARENA_DATA_DIR",
            entry.id
        )));
    };
    if !entry.is_pinned() && !options.allow_unpinned {
        return Err(DataError::Unpinned { id: entry.id.clone() });
    }
    let target = cached_path(entry, cache_dir);
    if target.is_file() {
        if entry.is_pinned() {
            if cached_file_verifies(entry, &target)? {
                return Ok(target);
            }
            eprintln!("{}: cached file does not match the registered checksum; downloading again", target.display());
        } else {
            let sha = sha256_file(&target)?;
            eprintln!(
                "{}: using unpinned cached file, sha256 {sha} (add `sha256 = \"{sha}\"` to '{}' to pin it)",
                target.display(),
                entry.id
            );
            return Ok(target);
        }
    }
    fs::create_dir_all(cache_dir)
        .map_err(|e| DataError::Write { path: cache_dir.to_path_buf(), reason: e.to_string() })?;
    let mut errors = Vec::new();
    for url in urls {
        match download_one(entry, url, cache_dir, &target, options) {
            Ok(path) => return Ok(path),
            Err(e) => {
                if urls.len() > 1 {
                    eprintln!("warning: {e}");
                }
                errors.push(e);
            }
        }
    }
    match errors.len() {
        1 => Err(errors.remove(0)),
        _ => Err(DataError::Other(format!(
            "dataset '{}': every URL failed: {}",
            entry.id,
            errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        ))),
    }
}

/// Checks a cached file against the registered size, sha256 and md5 (those that are given).
fn cached_file_verifies(entry: &DatasetEntry, path: &Path) -> Result<bool, DataError> {
    if let Some(size) = entry.size_bytes {
        let meta =
            fs::metadata(path).map_err(|e| DataError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
        if meta.len() != size {
            return Ok(false);
        }
    }
    if let Some(expected) = &entry.sha256 {
        return Ok(&sha256_file(path)? == expected);
    }
    if let Some(expected) = &entry.md5 {
        return Ok(&md5_file(path)? == expected);
    }
    Ok(false)
}

/// True for `http://127.0.0.1...`, `http://localhost...`, `http://[::1]...`: these never go via a proxy.
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|h| rest.strip_prefix(h).is_some_and(|after| after.is_empty() || after.starts_with([':', '/'])))
}

fn agent_for(url: &str, options: &FetchOptions) -> ureq::Agent {
    let mut builder = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(10)
        .timeout_connect(Some(options.connect_timeout))
        .timeout_recv_response(Some(options.response_timeout))
        .user_agent(concat!("virtual-cell-arena/", env!("CARGO_PKG_VERSION")));
    if is_loopback(url) {
        builder = builder.proxy(None);
    }
    builder.build().into()
}

fn progress_bar(len: Option<u64>, options: &FetchOptions, id: &str) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let template = if len.is_some() {
        "{msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
    } else {
        "{msg} {spinner} {bytes} {binary_bytes_per_sec}"
    };
    let pb = crate::progress::stderr_bar(len, template);
    pb.set_message(id.to_string());
    pb
}

/// One attempt from one URL: stream into a temp file in `cache_dir` while hashing, check length
/// and checksums, then rename to `target`. On any error the temp file is removed (dropped).
fn download_one(
    entry: &DatasetEntry,
    url: &str,
    cache_dir: &Path,
    target: &Path,
    options: &FetchOptions,
) -> Result<PathBuf, DataError> {
    let agent = agent_for(url, options);
    let mut response =
        agent.get(url).call().map_err(|e| DataError::Download { url: url.to_string(), reason: e.to_string() })?;
    let status = response.status();
    if !status.is_success() {
        return Err(DataError::Http {
            url: url.to_string(),
            status: status.as_u16(),
            reason: status.canonical_reason().map(|r| format!(" {r}")).unwrap_or_default(),
        });
    }
    let content_length = response.body().content_length();
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(cache_dir)
        .map_err(|e| DataError::Write { path: cache_dir.to_path_buf(), reason: e.to_string() })?;
    let tmp_path = tmp.path().to_path_buf();
    let write_err = |e: std::io::Error| DataError::Write { path: tmp_path.clone(), reason: e.to_string() };

    let pb = progress_bar(content_length.or(entry.size_bytes), options, &entry.id);
    let mut sha = Sha256::new();
    let mut md5 = entry.md5.as_ref().map(|_| Md5::new());
    let mut received: u64 = 0;
    let mut buf = vec![0u8; 1 << 16];
    let mut reader = response.body_mut().as_reader();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                pb.abandon();
                return Err(match content_length {
                    Some(expected) if received < expected => {
                        DataError::Interrupted { url: url.to_string(), received, expected }
                    }
                    _ => DataError::Download { url: url.to_string(), reason: format!("reading the body: {e}") },
                });
            }
        };
        let chunk = &buf[..n];
        sha.update(chunk);
        if let Some(m) = md5.as_mut() {
            m.update(chunk);
        }
        tmp.write_all(chunk).map_err(write_err)?;
        received += n as u64;
        pb.inc(n as u64);
    }
    drop(reader);
    pb.finish_and_clear();
    if let Some(expected) = content_length
        && received != expected
    {
        return Err(if received < expected {
            DataError::Interrupted { url: url.to_string(), received, expected }
        } else {
            DataError::Download {
                url: url.to_string(),
                reason: format!("received {received} bytes but Content-Length was {expected}"),
            }
        });
    }
    if let Some(expected) = entry.size_bytes
        && received != expected
    {
        return Err(DataError::Download {
            url: url.to_string(),
            reason: format!(
                "received {received} bytes but the registry says size_bytes = {expected}; nothing was kept in the cache"
            ),
        });
    }
    let sha_hex = hex::encode(sha.finalize());
    if let Some(expected) = &entry.sha256
        && &sha_hex != expected
    {
        return Err(DataError::DownloadChecksum {
            url: url.to_string(),
            algorithm: "sha256",
            expected: expected.clone(),
            actual: sha_hex,
        });
    }
    if let (Some(expected), Some(m)) = (&entry.md5, md5) {
        let actual = hex::encode(m.finalize());
        if &actual != expected {
            return Err(DataError::DownloadChecksum {
                url: url.to_string(),
                algorithm: "md5",
                expected: expected.clone(),
                actual,
            });
        }
    }
    if !entry.is_pinned() {
        eprintln!(
            "warning: '{}' is unpinned; downloaded sha256 is {sha_hex} — add `sha256 = \"{sha_hex}\"` to its [[dataset]] table to pin it",
            entry.id
        );
    }
    tmp.as_file().sync_all().map_err(write_err)?;
    super::output::set_readable(tmp.path()).map_err(write_err)?;
    let parent = target.parent().unwrap_or(cache_dir);
    fs::create_dir_all(parent).map_err(|e| DataError::Write { path: parent.to_path_buf(), reason: e.to_string() })?;
    tmp.persist(target).map_err(|e| DataError::Write { path: target.to_path_buf(), reason: e.error.to_string() })?;
    Ok(target.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Format, Modality, Observation, Perturbagen};
    use std::io::BufRead;
    use std::net::TcpListener;
    use std::thread::JoinHandle;
    use std::time::Instant;

    /// A loopback HTTP server that answers exactly `responses.len()` connections, one canned
    /// response each (in order), then exits; it gives up after 20 s without a client. Returns
    /// the base URL and a handle yielding the request lines it saw.
    fn serve(responses: Vec<Vec<u8>>) -> (String, JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(20);
            for response in responses {
                let stream = loop {
                    match listener.accept() {
                        Ok((s, _)) => break Some(s),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => break None,
                    }
                };
                let Some(mut stream) = stream else { break };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                seen.push(line.trim_end().to_string());
                loop {
                    let mut h = String::new();
                    match reader.read_line(&mut h) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if h == "\r\n" || h == "\n" => break,
                        Ok(_) => {}
                    }
                }
                let _ = stream.write_all(&response);
                let _ = stream.flush();
                let _ = stream.shutdown(std::net::Shutdown::Write);
                // Let the client read everything before the socket is dropped.
                let mut sink = [0u8; 256];
                while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
            }
            seen
        });
        (format!("http://127.0.0.1:{port}"), handle)
    }

    fn ok_response(body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    fn fixture() -> Vec<u8> {
        (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()
    }

    fn sha_hex(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    fn entry(urls: Vec<String>, sha256: Option<String>, md5: Option<String>) -> DatasetEntry {
        DatasetEntry {
            id: "fixture".into(),
            version: "test".into(),
            title: "loopback fixture".into(),
            modality: Modality::Rna,
            format: Format::H5ad,
            observation: Observation::SingleCell,
            perturbation_column: Some("perturbation".into()),
            control_labels: vec!["control".into()],
            direction: Some(Perturbagen::Knockdown),
            licence: "CC0-1.0".into(),
            citation: "test fixture".into(),
            source: Source::Urls(urls),
            sha256,
            md5,
            size_bytes: None,
            file_name: None,
            notes: None,
            guide_separator: None,
            arrays: None,
        }
    }

    fn quiet() -> FetchOptions {
        FetchOptions {
            progress: false,
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(10),
            ..FetchOptions::default()
        }
    }

    /// Every path under `dir`, recursively (files, dirs, temp files).
    fn listing(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = fs::read_dir(dir) {
            for e in rd.flatten() {
                out.push(e.path());
                if e.path().is_dir() {
                    out.extend(listing(&e.path()));
                }
            }
        }
        out
    }

    #[test]
    fn good_download_is_cached_and_reused_without_network() {
        let data = fixture();
        let (base, server) = serve(vec![ok_response(&data)]);
        let e = entry(
            vec![format!("{base}/files/fixture.h5ad?download=1")],
            Some(sha_hex(&data)),
            Some(hex::encode(Md5::digest(&data))),
        );
        let cache = tempfile::tempdir().expect("tempdir");
        let path = fetch(&e, cache.path(), &quiet()).expect("download succeeds");
        assert_eq!(path, cache.path().join("fixture").join("fixture.h5ad"));
        assert_eq!(fs::read(&path).expect("read"), data);
        let seen = server.join().expect("server thread");
        assert_eq!(seen, vec!["GET /files/fixture.h5ad?download=1 HTTP/1.1".to_string()]);
        // The server is gone: a second fetch must be served from the cache.
        let again = fetch(&e, cache.path(), &quiet()).expect("cache hit without network");
        assert_eq!(again, path);
        assert_eq!(listing(cache.path()).len(), 2, "only <id>/ and the file: {:?}", listing(cache.path()));
    }

    #[test]
    fn redirect_is_followed() {
        let data = b"redirected body".to_vec();
        let (base, server) = serve(vec![
            b"HTTP/1.1 302 Found\r\nLocation: /real/file.bin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
            ok_response(&data),
        ]);
        let e = entry(vec![format!("{base}/start/file.bin")], Some(sha_hex(&data)), None);
        let cache = tempfile::tempdir().expect("tempdir");
        let path = fetch(&e, cache.path(), &quiet()).expect("redirect followed");
        assert_eq!(fs::read(path).expect("read"), data);
        let seen = server.join().expect("server");
        assert_eq!(seen.len(), 2);
        assert!(seen[1].starts_with("GET /real/file.bin"), "{seen:?}");
    }

    #[test]
    fn wrong_checksum_leaves_nothing_in_cache() {
        let data = fixture();
        let (base, server) = serve(vec![ok_response(&data), ok_response(&data)]);
        let wrong = "0".repeat(64);
        let e = entry(vec![format!("{base}/fixture.h5ad")], Some(wrong.clone()), None);
        let cache = tempfile::tempdir().expect("tempdir");
        let msg = fetch(&e, cache.path(), &quiet()).expect_err("mismatch must fail").to_string();
        assert!(msg.contains(&wrong) && msg.contains(&sha_hex(&data)) && msg.contains("sha256"), "{msg}");
        assert!(listing(cache.path()).is_empty(), "cache not empty: {:?}", listing(cache.path()));
        // Same for a wrong md5.
        let e = entry(vec![format!("{base}/fixture.h5ad")], None, Some("f".repeat(32)));
        let msg = fetch(&e, cache.path(), &quiet()).expect_err("md5 mismatch must fail").to_string();
        assert!(msg.contains("md5") && msg.contains(&"f".repeat(32)), "{msg}");
        assert!(listing(cache.path()).is_empty(), "cache not empty: {:?}", listing(cache.path()));
        server.join().expect("server");
    }

    #[test]
    fn interrupted_download_is_an_error_and_leaves_nothing() {
        let mut short = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n".to_vec();
        short.extend_from_slice(&[7u8; 100]);
        let (base, server) = serve(vec![short]);
        let e = entry(vec![format!("{base}/big.h5ad")], Some("1".repeat(64)), None);
        let cache = tempfile::tempdir().expect("tempdir");
        let msg = fetch(&e, cache.path(), &quiet()).expect_err("short body must fail").to_string();
        assert!(msg.contains("interrupted") || msg.contains("short"), "{msg}");
        assert!(msg.contains("/big.h5ad"), "{msg}");
        assert!(listing(cache.path()).is_empty(), "cache not empty: {:?}", listing(cache.path()));
        server.join().expect("server");
    }

    #[test]
    fn http_404_names_status_and_url() {
        let (base, server) =
            serve(vec![b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found".to_vec()]);
        let url = format!("{base}/missing.h5ad");
        let e = entry(vec![url.clone()], Some("2".repeat(64)), None);
        let cache = tempfile::tempdir().expect("tempdir");
        let msg = fetch(&e, cache.path(), &quiet()).expect_err("404 must fail").to_string();
        assert!(msg.contains("404") && msg.contains(&url), "{msg}");
        assert!(listing(cache.path()).is_empty());
        server.join().expect("server");
    }

    #[test]
    fn unpinned_is_refused_unless_allowed() {
        let data = b"unpinned".to_vec();
        let (base, server) = serve(vec![ok_response(&data)]);
        let e = entry(vec![format!("{base}/u.csv")], None, None);
        let cache = tempfile::tempdir().expect("tempdir");
        let msg = fetch(&e, cache.path(), &quiet()).expect_err("refused").to_string();
        assert!(msg.contains("unpinned") && msg.contains("--allow-unpinned"), "{msg}");
        assert!(listing(cache.path()).is_empty());
        let opts = FetchOptions { allow_unpinned: true, ..quiet() };
        let path = fetch(&e, cache.path(), &opts).expect("allowed");
        assert_eq!(fs::read(path).expect("read"), data);
        server.join().expect("server");
    }

    #[test]
    fn local_entry_is_not_fetched() {
        let mut e = entry(vec![], Some("3".repeat(64)), None);
        e.source = Source::Local("x.csv".into());
        let cache = tempfile::tempdir().expect("tempdir");
        assert!(fetch(&e, cache.path(), &quiet()).is_err());
    }

    #[test]
    fn cache_dir_explicit_wins_and_loopback_detection() {
        assert_eq!(cache_dir(Some(Path::new("/x/y"))), PathBuf::from("/x/y"));
        assert!(is_loopback("http://127.0.0.1:8080/a"));
        assert!(is_loopback("http://localhost/a"));
        assert!(!is_loopback("https://zenodo.org/records/1"));
        assert!(!is_loopback("http://127.0.0.1.example.com/"));
    }
}
