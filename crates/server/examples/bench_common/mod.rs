//! What the benchmarks in `examples/` share: a bare HTTP/1.0 client that counts a
//! download's bytes without keeping them, and the process's peak memory.
// Each example compiles its own copy and uses part of it.
#![allow(dead_code)]

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The process's peak resident memory (VmHWM), KiB.
pub fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak to the current resident memory.
pub fn reset_peak_rss() {
    // "5" resets VmHWM to the current RSS (Linux 4.0+).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One request on a new connection: the status line, body bytes and newlines
/// (counted as they stream by), and the first 64 KiB of the body.
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (String, u64, u64, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}Content-Length: 0\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut small = Vec::new();
    let mut in_body = false;
    let (mut size, mut lines) = (0u64, 0u64);
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        if !in_body {
            head.extend_from_slice(chunk);
            if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                let rest = head.split_off(at + 4);
                in_body = true;
                size += rest.len() as u64;
                lines += rest.iter().filter(|b| **b == b'\n').count() as u64;
                small.extend_from_slice(&rest);
            }
            continue;
        }
        size += n as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        if small.len() < 64 * 1024 {
            let take = chunk.len().min(64 * 1024 - small.len());
            small.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        let _ = chunk;
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, size, lines, small)
}


/// Makes an export link for `format` as `token`, downloads it over loopback and
/// prints its size, rows per second and the process's peak memory during the
/// download (`rows`: how many the export holds; a JSON-lines file is checked
/// to have that many lines).
pub async fn measure_export(port: u16, token: &str, format: &str, rows: u64) {
    let (status, _, _, body) =
        http(port, "POST", &format!("/api/exports?format={format}"), Some(token)).await;
    assert!(status.contains("201"), "{status} {}", String::from_utf8_lossy(&body));
    let link: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let url = link["url"].as_str().unwrap().to_string();
    reset_peak_rss();
    let before = peak_rss_kb();
    let t = Instant::now();
    let (status, size, lines, _) = http(port, "GET", &url, None).await;
    let secs = t.elapsed().as_secs_f64();
    assert!(status.contains("200"), "{status}");
    if format == "jsonl" {
        assert_eq!(lines, rows, "one line per visit");
    }
    println!(
        "  {format:>5}: {rows} rows, {:.1} MB in {secs:.1} s = {:.0} rows/s; peak RSS {} MiB ({} MiB before the download)",
        size as f64 / 1e6,
        rows as f64 / secs,
        peak_rss_kb() / 1024,
        before / 1024,
    );
}
