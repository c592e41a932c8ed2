//! Hostile input, generated: 10,000 malformed request bodies (and query strings) spread
//! over every POST / PUT / PATCH endpoint of the served OpenAPI document and every GET
//! that takes a query, sent over real loopback sockets to a server in this process,
//! with and without valid tokens. Every answer must be 4xx (never 5xx), nothing may
//! panic, memory must not run away, and `/healthz` must still answer afterwards.
//!
//! Deterministic: case `i` is drawn from a generator seeded with `SEED` and `i`.
//! Count: `DAOHU_FUZZ_N` if set; else 10,000 in an optimised build and 2,000 in a
//! debug build (to keep `cargo test` quick); docs/reliability.md has the figures.

mod field;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::Method;
use daohu_server::seed::{household_id, member_id, village_id};
use field::{request, rng, rss_kib, serve_in_process};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Map, Value};

const SEED: u64 = 0x0F02_2DA0;
const WORKERS: usize = 4;
const MIB: usize = 1024 * 1024;

/// Panics anywhere in this process (the server runs here).
static PANICS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, Debug, PartialEq)]
enum Param {
    Uuid,
    Integer,
    Boolean,
    Date,
    Enum(Vec<String>),
    Text,
}

#[derive(Clone, Debug)]
struct Endpoint {
    method: Method,
    path: String,
    path_params: Vec<String>,
    query: Vec<(String, Param)>,
    /// `Some(template)` for a JSON body; `None` with `raw_types` for a file body.
    json: Option<Value>,
    raw_types: Vec<String>,
    has_body: bool,
}

impl Endpoint {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..20 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap();
                s = &doc["components"]["schemas"][name];
            }
            None => break,
        }
    }
    s
}

/// A well-formed value for a schema: what the mutations start from.
fn template(doc: &Value, schema: &Value, depth: usize) -> Value {
    let s = resolve(doc, schema);
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            let pick = list
                .iter()
                .find(|v| resolve(doc, v).get("type") != Some(&json!("null")))
                .unwrap_or(&Value::Null);
            return template(doc, pick, depth + 1);
        }
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        if let Some(v) = values.iter().find(|v| !v.is_null()) {
            return v.clone();
        }
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string")
            .to_string(),
        _ if s.get("properties").is_some() => "object".into(),
        _ => "string".into(),
    };
    match ty.as_str() {
        "object" => {
            let mut map = Map::new();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    map.insert(name.clone(), template(doc, sub, depth + 1));
                }
            }
            Value::Object(map)
        }
        "array" if depth < 6 => json!([template(doc, &s["items"], depth + 1)]),
        "array" => json!([]),
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        _ => match s.get("format").and_then(Value::as_str) {
            Some("uuid") => json!(household_id(0)),
            Some("date") => json!("2026-03-14"),
            Some("date-time") => json!("2026-03-14T08:00:00Z"),
            _ => json!("测试"),
        },
    }
}

fn param_kind(doc: &Value, schema: &Value) -> Param {
    let s = resolve(doc, schema);
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return Param::Enum(
            values
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
        );
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            if let Some(v) = list
                .iter()
                .find(|v| resolve(doc, v).get("type") != Some(&json!("null")))
            {
                return param_kind(doc, v);
            }
        }
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    };
    match (ty, s.get("format").and_then(Value::as_str)) {
        ("integer", _) => Param::Integer,
        ("boolean", _) => Param::Boolean,
        (_, Some("uuid")) => Param::Uuid,
        (_, Some("date")) => Param::Date,
        _ => Param::Text,
    }
}

/// Every endpoint the fuzzer aims at, read from the OpenAPI document.
fn endpoints(doc: &Value) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = match method.as_str() {
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "get" => Method::GET,
                _ => continue,
            };
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            // (a parameter documented "in: path" that the path has no slot for can
            // only be a query parameter documented wrong: sent as one)
            let in_template = |p: &Value| {
                path.contains(&format!("{{{}}}", p["name"].as_str().unwrap_or_default()))
            };
            let query: Vec<(String, Param)> = params
                .iter()
                .filter(|p| p["in"] == "query" || (p["in"] == "path" && !in_template(p)))
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        param_kind(doc, &p["schema"]),
                    )
                })
                .collect();
            if method == Method::GET && query.is_empty() {
                continue;
            }
            let path_params = params
                .iter()
                .filter(|p| p["in"] == "path" && in_template(p))
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
            let content = op["requestBody"]["content"].as_object();
            let json_body = content
                .and_then(|c| c.get("application/json"))
                .map(|m| template(doc, &m["schema"], 0));
            let raw_types = content
                .map(|c| {
                    c.keys()
                        .filter(|k| *k != "application/json")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            out.push(Endpoint {
                method,
                path: path.clone(),
                path_params,
                query,
                has_body: content.is_some(),
                json: json_body,
                raw_types,
            });
        }
    }
    out
}

/// One generated request.
struct Case {
    kind: &'static str,
    uri: String,
    token: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn huge_string(rng: &mut StdRng) -> String {
    let unit = ["x", "字", "\\u0000", "\\\"", "%"].choose(rng).unwrap();
    let mut s = String::with_capacity(MIB + 8);
    while s.len() < MIB {
        s.push_str(unit);
    }
    s
}

fn deep(rng: &mut StdRng) -> String {
    let n = 10_000;
    match rng.gen_range(0..3) {
        0 => format!("{}{}", "[".repeat(n), "]".repeat(n)),
        1 => format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)),
        _ => format!("{}null{}", "[{\"x\":".repeat(n / 2), "}]".repeat(n / 2)),
    }
}

/// JSON pointers of every node below the root.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, sub) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(sub, p, out);
            }
        }
        Value::Array(a) => {
            for (i, sub) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(sub, p, out);
            }
        }
        _ => {}
    }
}

/// A value of another JSON type than `v` (never null: optional fields take null).
fn wrong_type(v: &Value, rng: &mut StdRng) -> Value {
    let choices: Vec<Value> = match v {
        Value::String(_) => vec![
            json!(12345),
            json!(true),
            json!({}),
            json!([1, 2]),
            json!(-0.5),
        ],
        Value::Number(_) => vec![json!("12"), json!(true), json!({}), json!([]), json!("")],
        Value::Bool(_) => vec![json!("true"), json!(1), json!([]), json!({})],
        Value::Array(_) => vec![json!("x"), json!(7), json!({"a": 1}), json!(false)],
        Value::Object(_) => vec![json!("x"), json!(7), json!(true), json!(2.5)],
        Value::Null => vec![json!({"zz": 1})],
    };
    choices.choose(rng).unwrap().clone()
}

/// Splices raw `text` in place of the node at a random pointer (or the whole body).
fn splice(template: &Value, text: &str, rng: &mut StdRng) -> Vec<u8> {
    let mut ptrs = Vec::new();
    pointers(template, String::new(), &mut ptrs);
    let Some(ptr) = ptrs.choose(rng) else {
        return text.as_bytes().to_vec();
    };
    let mut v = template.clone();
    let marker = "\u{1}SPLICE\u{1}";
    *v.pointer_mut(ptr).unwrap() = json!(marker);
    v.to_string()
        .replace(&json!(marker).to_string(), text)
        .into_bytes()
}

fn with_unknown_field(template: &Value, key: &str, value: Value, rng: &mut StdRng) -> Value {
    let mut v = template.clone();
    // mostly at the top, sometimes in a nested object
    let mut objects = vec![String::new()];
    if rng.gen_bool(0.4) {
        let mut ptrs = Vec::new();
        pointers(template, String::new(), &mut ptrs);
        objects.extend(
            ptrs.into_iter()
                .filter(|p| template.pointer(p).is_some_and(Value::is_object)),
        );
    }
    let at = objects.choose(rng).unwrap().clone();
    match v.pointer_mut(&at) {
        Some(Value::Object(m)) => {
            m.insert(key.to_string(), value);
            v
        }
        _ => json!({ key: value }),
    }
}

const WRONG_TYPES: [&str; 9] = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "text/json",
    "application/jsonx",
    "image/png",
    "text/html; charset=utf-8",
    "",
];

/// A JSON body that must be refused.
fn hostile_json(template: &Value, rng: &mut StdRng) -> (&'static str, Option<String>, Vec<u8>) {
    let ct = Some("application/json".to_string());
    let text = template.to_string();
    match rng.gen_range(0..13) {
        0 => {
            let bytes = text.as_bytes();
            let cut = rng.gen_range(0..bytes.len().max(1));
            let tail: &[u8] = [&b""[..], b",", b"}", b"x", b"]]"].choose(rng).unwrap();
            let body = if rng.gen_bool(0.5) {
                bytes[..cut].to_vec()
            } else {
                [bytes, tail, b"{"].concat()
            };
            ("bad json", ct, body)
        }
        1 => {
            let bad: &[u8] = [
                &[0xff][..],
                &[0xc3, 0x28],
                &[0xe2, 0x82],
                &[0xf0, 0x28, 0x8c, 0x28],
                &[0x80],
                &[0xed, 0xa0, 0x80],
                &[0xfe, 0xfe, 0xff],
            ]
            .choose(rng)
            .unwrap();
            let mut body = text.into_bytes();
            let at = rng.gen_range(0..=body.len());
            body.splice(at..at, bad.iter().copied());
            ("invalid utf-8", ct, body)
        }
        2 => {
            let d = deep(rng);
            let body = if rng.gen_bool(0.5) {
                d.into_bytes()
            } else {
                splice(template, &d, rng)
            };
            ("10,000-deep nesting", ct, body)
        }
        3 => {
            let big = huge_string(rng);
            let body = match rng.gen_range(0..3) {
                0 => with_unknown_field(template, "zz_pad", json!(big), rng).to_string(),
                1 => with_unknown_field(template, &big, json!(1), rng).to_string(),
                _ => json!(big).to_string(),
            };
            ("1 MiB string", ct, body.into_bytes())
        }
        4 => {
            let body = if rng.gen_bool(0.5) {
                let mut body = text.into_bytes();
                for _ in 0..rng.gen_range(1..4) {
                    let at = rng.gen_range(0..=body.len());
                    body.insert(at, 0);
                }
                body
            } else {
                with_unknown_field(template, "a\u{0}b", json!("\u{0}\u{0}"), rng)
                    .to_string()
                    .into_bytes()
            };
            ("nul bytes", ct, body)
        }
        5 => {
            let mut ptrs = Vec::new();
            pointers(template, String::new(), &mut ptrs);
            let body = match ptrs.choose(rng) {
                Some(p) => {
                    let mut v = template.clone();
                    let node = v.pointer_mut(p).unwrap();
                    *node = wrong_type(node, rng);
                    v
                }
                None => wrong_type(template, rng),
            };
            ("wrong type", ct, body.to_string().into_bytes())
        }
        6 => {
            let key = format!("unknown_{}", rng.gen::<u16>());
            let body = with_unknown_field(template, &key, json!([1, "x", null]), rng);
            ("unknown field", ct, body.to_string().into_bytes())
        }
        7 => {
            let n = [
                "1e400",
                "-1e400",
                "18446744073709551616",
                "-9223372036854775809",
                "123456789012345678901234567890123456789",
                "1.7976931348623157e309",
            ]
            .choose(rng)
            .unwrap()
            .to_string();
            let n = if rng.gen_bool(0.1) {
                "9".repeat(100_000)
            } else {
                n
            };
            ("huge number", ct, splice(template, &n, rng))
        }
        8 => {
            let body: &[u8] = [&b""[..], b" ", b"\n\n", b"\r\n"].choose(rng).unwrap();
            let ct = if rng.gen_bool(0.8) { ct } else { None };
            ("empty body", ct, body.to_vec())
        }
        9 => {
            let ct = if rng.gen_bool(0.15) {
                None
            } else {
                Some(WRONG_TYPES.choose(rng).unwrap().to_string())
            };
            ("wrong content type", ct, text.into_bytes())
        }
        10 => {
            // `[[]]` included: serde alone would read it as `{"household_ids": []}`;
            // the API refuses arrays where an object is expected.
            let body = ["null", "true", "0", "\"x\"", "[]", "[{}]", "[[]]", "-1"]
                .choose(rng)
                .unwrap();
            ("wrong top-level type", ct, body.as_bytes().to_vec())
        }
        11 => {
            // the first key twice
            let body = match template {
                Value::Object(m) if !m.is_empty() => {
                    let (k, v) = m.iter().next().unwrap();
                    let rest = text.strip_prefix('{').unwrap();
                    format!("{{{}:{},{rest}", json!(k), v)
                }
                _ => "{\"a\":1,\"a\":2}".into(),
            };
            ("duplicate key", ct, body.into_bytes())
        }
        _ => {
            let len = rng.gen_range(1..4096);
            let body: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            ("random bytes", ct, body)
        }
    }
}

/// A file body (roster import) that must be refused.
fn hostile_file(types: &[String], rng: &mut StdRng) -> (&'static str, Option<String>, Vec<u8>) {
    let ct = Some(
        types
            .choose(rng)
            .cloned()
            .unwrap_or_else(|| "text/csv".into()),
    );
    match rng.gen_range(0..8) {
        0 => {
            let len = rng.gen_range(1..8192);
            ("random bytes", ct, (0..len).map(|_| rng.gen()).collect())
        }
        1 => (
            "invalid utf-8",
            ct,
            [&b"\xff\xfe\x00,\xc3\x28,"[..], &[0x80; 64]].concat(),
        ),
        2 => ("1 MiB string", ct, huge_string(rng).into_bytes()),
        3 => ("nul bytes", ct, vec![0u8; rng.gen_range(1..5000)]),
        4 => ("empty body", ct, Vec::new()),
        5 => ("10,000-deep nesting", ct, deep(rng).into_bytes()),
        6 => (
            "zip-like junk",
            ct,
            [&b"PK\x03\x04"[..], &vec![0x41; 3000], b"PK\x05\x06"].concat(),
        ),
        _ => (
            "wrong content type",
            Some(
                ["application/json", "text/html", "image/png"]
                    .choose(rng)
                    .unwrap()
                    .to_string(),
            ),
            b"{\"a\":1}".to_vec(),
        ),
    }
}

fn bad_id(rng: &mut StdRng) -> String {
    [
        "not-a-uuid",
        "%00",
        "%FF%FE",
        "..%2F..%2Fetc%2Fpasswd",
        "-1",
        "1e400",
        "%E6%B5%8B%E8%AF%95",
        "00000000-0000-0000-0000-00000000000g",
        "%20",
    ]
    .choose(rng)
    .unwrap()
    .to_string()
        + &if rng.gen_bool(0.1) {
            "a".repeat(3000)
        } else {
            String::new()
        }
}

fn good_id(rng: &mut StdRng) -> String {
    [
        member_id(1),
        member_id(21),
        member_id(3),
        household_id(0),
        household_id(60),
        uuid::Uuid::from_u128(rng.gen()),
    ]
    .choose(rng)
    .unwrap()
    .to_string()
}

fn bad_value(kind: &Param, rng: &mut StdRng) -> Option<String> {
    let v = match kind {
        Param::Uuid => ["zzz", "%00", "1", "00000000-0000-0000-0000", "%FF"].choose(rng)?,
        Param::Integer => [
            "abc",
            "-1",
            "1.5",
            "99999999999999999999999",
            "1e400",
            "%00",
            "0x10",
        ]
        .choose(rng)?,
        Param::Boolean => ["maybe", "2", "%00"].choose(rng)?,
        Param::Date => ["2026-02-30", "yesterday", "2026-13-01", "%00"].choose(rng)?,
        Param::Enum(_) => ["no_such_value", "%00", "DONE%FF"].choose(rng)?,
        Param::Text => return None,
    };
    Some(v.to_string())
}

fn good_value(name: &str, kind: &Param) -> String {
    match kind {
        Param::Uuid => village_id().to_string(),
        Param::Integer => "10".into(),
        Param::Boolean => "true".into(),
        Param::Date => "2026-03-14".into(),
        Param::Enum(values) => values.first().cloned().unwrap_or_default(),
        Param::Text if name == "village_id" || name == "unit_id" => village_id().to_string(),
        Param::Text if name == "mode" => "preview".into(),
        Param::Text => "x".into(),
    }
}

/// Case `i` against `endpoint`; `tokens` are valid sessions of several roles.
fn case(endpoint: &Endpoint, tokens: &[String], i: usize) -> Case {
    let mut rng = rng(SEED ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let no_body = !endpoint.has_body;

    // who asks
    let roll: f64 = rng.gen();
    // a request without body, id or query (logout): only the token can be wrong
    let logout_like = no_body
        && endpoint.path_params.is_empty()
        && endpoint.query.is_empty()
        && endpoint.method != Method::GET;
    let token = if roll < 0.4 {
        None
    } else if roll < 0.5 || logout_like {
        Some(
            [
                format!("Bearer {}", "ab".repeat(32)),
                "Bearer x".to_string(),
                "Basic YWRtaW46YWRtaW4=".to_string(),
                format!("Bearer {}", "f".repeat(8000)),
                "Bearer".to_string(),
            ]
            .choose(&mut rng)
            .unwrap()
            .clone(),
        )
    } else {
        Some(format!("Bearer {}", tokens.choose(&mut rng).unwrap()))
    };

    // where: path ids real (so the body gets read) unless the request has no body
    let mut path = endpoint.path.clone();
    for name in &endpoint.path_params {
        let id = if no_body || rng.gen_bool(0.2) {
            bad_id(&mut rng)
        } else {
            good_id(&mut rng)
        };
        path = path.replace(&format!("{{{name}}}"), &id);
    }

    // the query: GETs always get a broken one; bodies mostly a usable one
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut kind = "";
    if !endpoint.query.is_empty() {
        let break_query = no_body || rng.gen_bool(0.2);
        for (name, k) in &endpoint.query {
            if rng.gen_bool(0.6) || !break_query {
                pairs.push((name.clone(), good_value(name, k)));
            }
        }
        if break_query {
            let typed: Vec<&(String, Param)> = endpoint
                .query
                .iter()
                .filter(|(_, k)| *k != Param::Text)
                .collect();
            match typed.choose(&mut rng) {
                Some((name, k)) if rng.gen_bool(0.7) => {
                    pairs.retain(|(n, _)| n != name);
                    pairs.push((name.clone(), bad_value(k, &mut rng).unwrap()));
                    kind = "bad query value";
                }
                _ => {
                    // any parameter twice
                    let (name, k) = endpoint.query.choose(&mut rng).unwrap();
                    pairs.push((name.clone(), good_value(name, k)));
                    pairs.push((name.clone(), good_value(name, k)));
                    kind = "query parameter twice";
                }
            }
        }
    }
    let uri = if pairs.is_empty() {
        path
    } else {
        let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{path}?{}", q.join("&"))
    };

    let (body_kind, content_type, body) = if endpoint.method == Method::GET {
        ("", None, Vec::new())
    } else if let Some(t) = &endpoint.json {
        hostile_json(t, &mut rng)
    } else if !endpoint.raw_types.is_empty() {
        hostile_file(&endpoint.raw_types, &mut rng)
    } else {
        // no body at all: send junk anyway (the id or the token is what is wrong)
        hostile_json(&json!({}), &mut rng)
    };
    let kind = if kind.is_empty() { body_kind } else { kind };
    let kind = if logout_like {
        "bad token"
    } else if no_body && !endpoint.path_params.is_empty() {
        "bad id"
    } else {
        kind
    };
    Case {
        kind,
        uri,
        token,
        content_type,
        body,
    }
}

#[derive(Default)]
struct Tally {
    by_status: BTreeMap<u16, u64>,
    by_kind: BTreeMap<&'static str, u64>,
    by_endpoint: BTreeMap<String, u64>,
    not_4xx: Vec<String>,
    transport: Vec<String>,
}

async fn send(addr: SocketAddr, method: &Method, c: &Case) -> Result<field::Reply, String> {
    let mut headers: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &c.token {
        headers.push(("authorization", t.clone()));
    }
    if let Some(ct) = &c.content_type {
        headers.push(("content-type", ct.clone()));
    }
    let mut last = String::new();
    // A refusal sent before the body was read may reach us as a reset instead:
    // retry that case a few times; a server that stopped answering fails below.
    for attempt in 0..4 {
        match request(
            addr,
            method.clone(),
            &c.uri,
            &headers,
            c.body.clone(),
            Duration::from_secs(30),
        )
        .await
        {
            Ok(reply) => return Ok(reply),
            Err(e) => last = format!("{e} (attempt {attempt})"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_answer_4xx_and_never_crash() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let n: usize = match std::env::var("DAOHU_FUZZ_N") {
        Ok(v) => v.parse().expect("DAOHU_FUZZ_N is a number"),
        Err(_) if cfg!(debug_assertions) => 2_000,
        Err(_) => 10_000,
    };

    let dir = tempfile::tempdir().unwrap();
    let state = daohu_server::test_state(dir.path()).await.unwrap();
    let mut tokens = Vec::new();
    for m in [1u128, 3, 5, 9, 19, 29] {
        let (t, _) = daohu_server::auth::create_session(
            &state.pool,
            member_id(m),
            chrono::Duration::hours(2),
        )
        .await
        .unwrap();
        tokens.push(t);
    }
    let (addr, server) = serve_in_process(state.clone()).await;
    let doc: Value = serde_json::from_slice(
        &request(
            addr,
            Method::GET,
            "/api/openapi.json",
            &[],
            Vec::new(),
            Duration::from_secs(10),
        )
        .await
        .unwrap()
        .body,
    )
    .unwrap();
    let targets = Arc::new(endpoints(&doc));
    assert!(targets.len() >= 10, "{} endpoints", targets.len());
    let visits_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits")
        .fetch_one(&state.pool)
        .await
        .unwrap();

    let rss_before = rss_kib();
    let rss_max = Arc::new(AtomicU64::new(rss_before));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (targets, tokens, tally, rss_max) = (
            targets.clone(),
            tokens.clone(),
            tally.clone(),
            rss_max.clone(),
        );
        workers.push(tokio::spawn(async move {
            for i in (w..n).step_by(WORKERS) {
                let endpoint = &targets[i % targets.len()];
                let c = case(endpoint, &tokens, i);
                let result = send(addr, &endpoint.method, &c).await;
                let mut t = tally.lock().unwrap();
                *t.by_kind.entry(c.kind).or_default() += 1;
                *t.by_endpoint.entry(endpoint.name()).or_default() += 1;
                match result {
                    Ok(reply) => {
                        *t.by_status.entry(reply.status).or_default() += 1;
                        if !(400..500).contains(&reply.status) {
                            t.not_4xx.push(format!(
                                "case {i} {} {} [{}]: {} {}",
                                endpoint.method,
                                c.uri.chars().take(120).collect::<String>(),
                                c.kind,
                                reply.status,
                                String::from_utf8_lossy(&reply.body)
                                    .chars()
                                    .take(200)
                                    .collect::<String>()
                            ));
                        }
                    }
                    Err(e) => t.transport.push(format!(
                        "case {i} {} {} [{}]: {e}",
                        endpoint.method,
                        c.uri.chars().take(120).collect::<String>(),
                        c.kind
                    )),
                }
                if i % 50 == 0 {
                    rss_max.fetch_max(rss_kib(), Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed();
    let rss_after = rss_kib();
    rss_max.fetch_max(rss_after, Ordering::Relaxed);

    let health = request(
        addr,
        Method::GET,
        "/healthz",
        &[],
        Vec::new(),
        Duration::from_secs(5),
    )
    .await
    .expect("server still answers");
    assert_eq!(health.status, 200);
    let visits_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits")
        .fetch_one(&state.pool)
        .await
        .unwrap();
    server.abort();

    let t = tally.lock().unwrap();
    let count = |f: fn(u16) -> bool| {
        t.by_status
            .iter()
            .filter(|(s, _)| f(**s))
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    let answered = count(|_| true);
    let c4 = count(|s| (400..500).contains(&s));
    let c5 = count(|s| s >= 500);
    println!(
        "fuzz: {n} requests (seed {SEED:#x}, {} endpoints, {WORKERS} connections at a time) in {:.1} s: \
         {answered} answered, {c4} 4xx, {c5} 5xx, {} other, {} without an answer; panics {}; \
         VmRSS {} KiB before, {} KiB after, {} KiB max (growth {} KiB)",
        targets.len(),
        elapsed.as_secs_f64(),
        answered - c4 - c5,
        t.transport.len(),
        PANICS.load(Ordering::SeqCst),
        rss_before,
        rss_after,
        rss_max.load(Ordering::Relaxed),
        rss_max.load(Ordering::Relaxed).saturating_sub(rss_before),
    );
    println!("fuzz statuses: {:?}", t.by_status);
    println!("fuzz kinds: {:?}", t.by_kind);
    println!("fuzz endpoints: {:?}", t.by_endpoint);
    assert!(
        t.not_4xx.is_empty(),
        "{} answers not 4xx:\n{}",
        t.not_4xx.len(),
        t.not_4xx
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        t.transport.is_empty(),
        "{} without an answer:\n{}",
        t.transport.len(),
        t.transport
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
    assert_eq!(c5, 0);
    assert_eq!(visits_after, visits_before, "hostile input stored nothing");
}
