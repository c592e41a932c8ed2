//! Precompressed web assets: a `.br` (brotli quality 11) and a `.gz` (gzip -9)
//! beside every text asset of the built app, which [`crate::static_files`] sends as
//! they are.
//!
//! Why: compressing on the fly must be fast, so it runs at brotli quality 4; the
//! phone's wasm is about 17 % smaller at quality 11, and on a rural line those
//! bytes are the wait before a member can sign in. `scripts/build-app.sh` runs
//! `daohu-server precompress` after each build; the server also checks at start
//! (in the background, a no-op when the files are current) so a hand-made build is
//! covered too.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// Extensions worth compressing (images and fonts are compressed already).
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "html", "svg", "webmanifest", "json", "txt"];

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files whose compressed copies were (re)written.
    pub written: usize,
    /// Files whose compressed copies were already current.
    pub current: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "precompressed {} file(s); {} already current", self.written, self.current)
    }
}

/// Writes `.br` and `.gz` beside each compressible file under `dir` whose copies are
/// missing or older than the file.
pub fn precompress_dir(dir: &Path) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && is_compressible(&path) {
                if precompress_file(&path)? {
                    summary.written += 1;
                } else {
                    summary.current += 1;
                }
            }
        }
    }
    Ok(summary)
}

/// Whether `file`'s compressed copies, where there are any, are at least as new as
/// it. A file replaced under a running server (a deployment that copied a new build
/// without its copies) must not go out as its old copy.
pub fn copies_current(file: &Path) -> bool {
    let Some(source) = modified(file) else {
        return true;
    };
    [".br", ".gz"]
        .iter()
        .all(|suffix| modified(&sibling(file, suffix)).is_none_or(|copy| copy >= source))
}

/// Refreshes the copies under `dir` in the background, one refresh at a time.
pub fn refresh_in_background(dir: PathBuf) {
    static RUNNING: AtomicBool = AtomicBool::new(false);
    if RUNNING.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::task::spawn_blocking(move || {
        match precompress_dir(&dir) {
            Ok(summary) if summary.written > 0 => tracing::info!(%summary, "web app precompressed"),
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "could not precompress the web app; compressing on the fly")
            }
        }
        RUNNING.store(false, Ordering::Release);
    });
}

fn is_compressible(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| COMPRESSIBLE.contains(&e))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Compresses one file; false when both copies were current.
fn precompress_file(path: &Path) -> io::Result<bool> {
    let source_time = modified(path);
    let br = sibling(path, ".br");
    let gz = sibling(path, ".gz");
    let current = |copy: &Path| match (source_time, modified(copy)) {
        (Some(source), Some(copy)) => copy >= source,
        _ => false,
    };
    if current(&br) && current(&gz) {
        return Ok(false);
    }
    let data = std::fs::read(path)?;

    let mut compressed = Vec::with_capacity(data.len() / 3);
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut data.as_slice(), &mut compressed, &params)?;
    write_atomically(&br, &compressed)?;

    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&data)?;
    write_atomically(&gz, &encoder.finish()?)?;
    Ok(true)
}

/// Another instance may be serving the same folder: readers see the old copy or
/// the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = sibling(path, &format!(".tmp{}", std::process::id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_both_copies_once_and_again_after_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let js = dir.path().join("app.js");
        let text = "console.log('到户');\n".repeat(200);
        std::fs::write(&js, &text).unwrap();
        std::fs::create_dir(dir.path().join("admin")).unwrap();
        std::fs::write(dir.path().join("admin/index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.path().join("icon.png"), [0x89, b'P', b'N', b'G']).unwrap();

        assert_eq!(precompress_dir(dir.path()).unwrap(), Summary { written: 2, current: 0 });
        assert!(!dir.path().join("icon.png.br").exists(), "images are left alone");

        let mut unbrotli = String::new();
        brotli::Decompressor::new(std::fs::File::open(sibling(&js, ".br")).unwrap(), 4096)
            .read_to_string(&mut unbrotli)
            .unwrap();
        assert_eq!(unbrotli, text);
        let mut ungzip = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(sibling(&js, ".gz")).unwrap())
            .read_to_string(&mut ungzip)
            .unwrap();
        assert_eq!(ungzip, text);
        assert!(std::fs::metadata(sibling(&js, ".br")).unwrap().len() < 200);

        assert_eq!(precompress_dir(dir.path()).unwrap(), Summary { written: 0, current: 2 });
        assert!(copies_current(&js));

        // A rebuilt file is newer than its copies: not current, compressed again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&js, "changed();").unwrap();
        assert!(!copies_current(&js));
        assert_eq!(precompress_dir(dir.path()).unwrap(), Summary { written: 1, current: 1 });
        let mut again = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(sibling(&js, ".gz")).unwrap())
            .read_to_string(&mut again)
            .unwrap();
        assert_eq!(again, "changed();");
        assert!(copies_current(&js));
    }
}
