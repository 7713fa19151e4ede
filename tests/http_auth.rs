//! HTTP access control: who may call, from where, how much, and what is open to all.
//!
//! Each test starts the real binary with `--http` on a free loopback port and speaks raw
//! HTTP/1.1 to it, so the statuses and headers checked are exactly what a client sees.

mod common;
mod http_support;

use http_support::{events, HttpServer, TOKEN};
use serde_json::json;

const UNAUTHORIZED: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Unauthorized: invalid or missing authentication token"}}"#;

fn tools_list() -> Vec<u8> {
    json!({"jsonrpc": "2.0", "method": "tools/list", "id": 1})
        .to_string()
        .into_bytes()
}

fn post_root(s: &HttpServer, headers: &[(&str, &str)]) -> http_support::Reply {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    s.request("POST", "/", &h, &tools_list())
}

#[test]
fn missing_wrong_and_right_tokens_on_both_headers() {
    let s = HttpServer::start(&[], &[]);
    let bearer = format!("Bearer {TOKEN}");
    for (what, headers) in [
        ("no token", vec![]),
        ("wrong bearer", vec![("Authorization", "Bearer wrong")]),
        ("wrong x-mcp", vec![("X-MCP-Auth-Token", "wrong")]),
        ("empty bearer", vec![("Authorization", "Bearer ")]),
        ("basic scheme", vec![("Authorization", "Basic dGVzdA==")]),
        (
            "token as bare authorization",
            vec![("Authorization", TOKEN)],
        ),
    ] {
        for path in ["/", "/mcp"] {
            let r = post_root_at(&s, path, &headers);
            assert_eq!(r.status, 401, "{what} on {path}: {r:?}");
            assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{what}");
            assert_eq!(r.body, UNAUTHORIZED, "{what}");
        }
    }
    for (what, headers) in [
        ("bearer", vec![("Authorization", bearer.as_str())]),
        (
            "lowercase scheme",
            vec![("Authorization", &*format!("bearer {TOKEN}"))],
        ),
        ("x-mcp", vec![("X-MCP-Auth-Token", TOKEN)]),
    ] {
        let r = post_root(&s, &headers);
        assert_eq!(r.status, 200, "{what}: {r:?}");
        assert!(r.json()["result"]["tools"].is_array(), "{what}: {}", r.body);
    }
    // Every refusal is audited with its reason, never with the token presented.
    let err = s.stderr();
    let failed = events(&err, "AUTH_FAILED");
    assert_eq!(failed.len(), 12, "{err}");
    assert!(failed
        .iter()
        .all(|e| e["status"] == 401 && e["message"].as_str().unwrap().contains("401")));
    assert!(failed.iter().any(|e| e["reason"] == "missing token"));
    assert!(failed.iter().any(|e| e["reason"] == "invalid token"));
    assert!(failed[0]["remote_addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(
        !err.contains("wrong") && !err.contains("dGVzdA"),
        "a presented token was logged"
    );
}

/// A header that carries no token we can read (Basic auth added by a proxy, bytes that are
/// not ASCII) is passed over: the other header's valid token is accepted; without one the
/// request is still 401.
#[test]
fn a_header_we_cannot_read_does_not_hide_a_valid_token_in_the_other() {
    let s = HttpServer::start(&[], &[]);
    let bearer = format!("Bearer {TOKEN}");
    for (what, headers) in [
        (
            "basic from a proxy, token in x-mcp",
            vec![
                ("Authorization", "Basic dXNlcjpwYXNz"),
                ("X-MCP-Auth-Token", TOKEN),
            ],
        ),
        (
            "non-ASCII x-mcp, token in bearer",
            vec![
                ("X-MCP-Auth-Token", "caf\u{e9}"),
                ("Authorization", bearer.as_str()),
            ],
        ),
    ] {
        for path in ["/", "/mcp"] {
            let r = post_root_at(&s, path, &headers);
            assert_ne!(r.status, 401, "{what} on {path}: {r:?}");
        }
        let r = post_root(&s, &headers);
        assert_eq!(r.status, 200, "{what}: {r:?}");
        assert!(r.json()["result"]["tools"].is_array(), "{what}: {}", r.body);
    }
    for (what, headers) in [
        (
            "basic and a wrong token",
            vec![
                ("Authorization", "Basic dXNlcjpwYXNz"),
                ("X-MCP-Auth-Token", "wrong"),
            ],
        ),
        (
            "non-ASCII x-mcp alone",
            vec![("X-MCP-Auth-Token", "caf\u{e9}")],
        ),
    ] {
        let r = post_root(&s, &headers);
        assert_eq!(r.status, 401, "{what}: {r:?}");
        assert_eq!(r.body, UNAUTHORIZED, "{what}");
    }
}

fn post_root_at(s: &HttpServer, path: &str, headers: &[(&str, &str)]) -> http_support::Reply {
    let mut h = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    h.extend_from_slice(headers);
    s.request("POST", path, &h, &tools_list())
}

#[test]
fn two_rotated_tokens_both_work_and_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, "# rotated in\nfile-token-new\n").unwrap();
    let s = HttpServer::start_raw(
        &["--auth-token-file", file.to_str().unwrap()],
        &[("MCP_AUTH_TOKEN", "env-token-old")],
    );
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "execute_command", "arguments": {"command": "echo rotated"}}});
    for t in ["env-token-old", "file-token-new"] {
        let r = s.request(
            "POST",
            "/",
            &[
                ("Content-Type", "application/json"),
                ("X-MCP-Auth-Token", t),
            ],
            call.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{t}: {r:?}");
        assert_eq!(
            r.json()["result"]["structuredContent"]["stdout"],
            "rotated\n"
        );
    }
    let r = post_root(&s, &[("X-MCP-Auth-Token", "retired-token")]);
    assert_eq!(r.status, 401);
    let execs = events(&s.stderr(), "CMD_EXEC");
    let callers: Vec<&str> = execs
        .iter()
        .map(|e| e["caller"].as_str().unwrap())
        .collect();
    assert_eq!(callers.len(), 2, "{callers:?}");
    assert_ne!(callers[0], callers[1], "each token is its own caller");
    assert!(callers
        .iter()
        .all(|c| c.starts_with("token:") && c.len() == 14));
    assert!(execs
        .iter()
        .all(|e| e["transport"] == "http" && e["request"] == "7"));
    assert!(!s.stderr().contains("token-old") && !s.stderr().contains("token-new"));
    // Both tokens are short (13 and 14 characters): one warning names how many, not which.
    let weak: Vec<_> = events(&s.stderr(), "LOG")
        .into_iter()
        .filter(|e| e["message"].as_str().unwrap().contains("WEAK_TOKEN"))
        .collect();
    assert_eq!(weak.len(), 1, "{}", s.stderr());
    // The file holds one token as itself, which commands could read as the server did.
    let readable = events(&s.stderr(), "TOKEN_FILE_READABLE");
    assert_eq!(readable.len(), 1, "{}", s.stderr());
    assert_eq!(readable[0]["tokens"], 1);
    assert_eq!(readable[0]["level"], "warn");
    assert_eq!(weak[0]["level"], "warn");
    assert!(
        weak[0]["message"]
            .as_str()
            .unwrap()
            .contains("2 of 2 configured tokens are shorter than 16"),
        "{weak:?}"
    );
}

#[test]
fn a_token_configured_by_its_sha256_digest() {
    use sha2::Digest;
    let token = "digest-token-0123456789abcdef";
    let hex: String = sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let configured = format!("sha256:{hex}");
    let s = HttpServer::start_raw(&[], &[("MCP_AUTH_TOKEN", &configured)]);
    assert_eq!(post_root(&s, &[("X-MCP-Auth-Token", token)]).status, 200);
    let bearer = format!("Bearer {token}");
    assert_eq!(post_root(&s, &[("Authorization", &bearer)]).status, 200);
    // The digest itself is not a token.
    assert_eq!(
        post_root(&s, &[("X-MCP-Auth-Token", &configured)]).status,
        401
    );
    assert_eq!(post_root(&s, &[("X-MCP-Auth-Token", &hex)]).status, 401);
    // A digest is not a short token, and nothing of it reaches the log but the caller id.
    let log = s.stderr();
    assert!(!log.contains("WEAK_TOKEN"), "{log}");
    assert!(!log.contains(&hex[8..]), "{log}");
    // In a token file a digest is no secret: no TOKEN_FILE_READABLE.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, format!("{configured}\n")).unwrap();
    let s = HttpServer::start_raw(&["--auth-token-file", file.to_str().unwrap()], &[]);
    assert_eq!(post_root(&s, &[("X-MCP-Auth-Token", token)]).status, 200);
    assert!(
        events(&s.stderr(), "TOKEN_FILE_READABLE").is_empty(),
        "{}",
        s.stderr()
    );
    // A malformed digest stops the start with one line.
    let out = common::command()
        .args(["--http", "--port", "0"])
        .env("MCP_AUTH_TOKEN", "sha256:abc123")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("64 hex digits") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!err.contains("abc123"), "{err}");
}

#[test]
fn health_is_open_and_unknown_paths_are_404_not_401() {
    let s = HttpServer::start(&[], &[]);
    let r = s.request("GET", "/health", &[], b"");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["status"], "healthy");
    assert_eq!(v["server"], "mcp-commander");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["sandbox"].is_object(), "{v}");
    // Secrets above the server: the verdict only, without the processes and names that
    // get_shell_info (with a token) shows.
    let info = s.request(
        "POST",
        "/",
        &[
            ("Content-Type", "application/json"),
            ("X-MCP-Auth-Token", TOKEN),
        ],
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "get_shell_info", "arguments": {}}})
        .to_string()
        .as_bytes(),
    );
    let full = info.json()["result"]["structuredContent"]["sandbox"]["ancestor_env"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let verdict = full.split(':').next().unwrap_or_default();
    assert!(
        ["none", "protected by landlock", "exposed"].contains(&verdict),
        "{full}"
    );
    assert_eq!(v["sandbox"]["ancestor_env"], verdict, "{v}");
    assert!(
        !s.stderr().contains("WEAK_TOKEN"),
        "a 21-character token is not short"
    );
    assert!(!r.body.contains(TOKEN));
    let head = s.request("HEAD", "/health", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for path in ["/nope", "/mcp/extra", "/.env", "/metrics"] {
        let r = s.request("GET", path, &[], b"");
        assert_eq!(r.status, 404, "GET {path} without a token: {r:?}");
    }
    assert!(events(&s.stderr(), "AUTH_FAILED").is_empty());
}

#[test]
fn metrics_needs_the_flag_and_a_token() {
    let s = HttpServer::start(&["--metrics"], &[]);
    assert_eq!(s.request("GET", "/metrics", &[], b"").status, 401);
    let bearer = format!("Bearer {TOKEN}");
    let r = s.request("GET", "/metrics", &[("Authorization", &bearer)], b"");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("mcp_commander_running_commands 0"),
        "{}",
        r.body
    );
}

#[test]
fn foreign_origin_and_rebound_host_are_403() {
    let s = HttpServer::start(&[], &[]);
    let bearer = format!("Bearer {TOKEN}");
    let ok = [("Authorization", bearer.as_str())];
    for origin in [
        "http://evil.example",
        "https://localhost.evil.example",
        "null",
    ] {
        let mut h = ok.to_vec();
        h.push(("Origin", origin));
        assert_eq!(post_root(&s, &h).status, 403, "Origin {origin}");
        assert_eq!(
            post_root_at(&s, "/mcp", &h).status,
            403,
            "Origin {origin} on /mcp"
        );
    }
    for origin in ["http://localhost:6274", "http://127.0.0.1"] {
        let mut h = ok.to_vec();
        h.push(("Origin", origin));
        assert_eq!(post_root(&s, &h).status, 200, "Origin {origin}");
    }
    // A good Origin followed by a foreign one is still foreign.
    let mut h = ok.to_vec();
    h.push(("Origin", "http://localhost"));
    h.push(("Origin", "http://evil.example"));
    assert_eq!(post_root(&s, &h).status, 403, "two Origin headers");
    let mut h = ok.to_vec();
    h.push(("Host", "attacker.example:3000"));
    assert_eq!(post_root(&s, &h).status, 403, "rebound Host");
    let mut h = ok.to_vec();
    h.push(("Host", "localhost:3000"));
    assert_eq!(post_root(&s, &h).status, 200, "localhost Host");
    // A fully qualified name (trailing dot) names the same host.
    for host in [
        "localhost.",
        "localhost.:3000",
        "127.0.0.1.",
        "127.0.0.1.:3000",
    ] {
        let mut h = ok.to_vec();
        h.push(("Host", host));
        assert_eq!(post_root(&s, &h).status, 200, "Host {host}");
    }
    for host in [
        "attacker.example.",
        "localhost..",
        "localhost.evil.example.",
    ] {
        let mut h = ok.to_vec();
        h.push(("Host", host));
        assert_eq!(post_root(&s, &h).status, 403, "Host {host}");
    }

    let s = HttpServer::start(&["--allowed-origins", "https://app.example.com"], &[]);
    let mut h = ok.to_vec();
    h.push(("Origin", "https://app.example.com"));
    assert_eq!(post_root(&s, &h).status, 200);
    let mut h = ok.to_vec();
    h.push(("Origin", "http://localhost:6274"));
    assert_eq!(
        post_root(&s, &h).status,
        403,
        "an explicit list replaces the loopback default"
    );
}

#[test]
fn bodies_over_one_mib_are_413() {
    let s = HttpServer::start(&[], &[]);
    let bearer = format!("Bearer {TOKEN}");
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"execute_command","arguments":{{"command":"echo {}"}}}}}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    for path in ["/", "/mcp"] {
        let r = s.request(
            "POST",
            path,
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ],
            big.as_bytes(),
        );
        assert_eq!(r.status, 413, "{path}: {}", r.body);
    }
    // Just under the limit is still served.
    let fits = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"check_command","arguments":{{"command":"echo {}"}}}}}}"#,
        "x".repeat(1000 * 1000)
    );
    let r = s.request(
        "POST",
        "/",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        fits.as_bytes(),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn over_the_rate_limit_is_429_with_retry_after_per_token() {
    let s = HttpServer::start_raw(
        &["--rate-limit", "5/m"],
        &[("MCP_AUTH_TOKEN", "token-a,token-b")],
    );
    // Burst is twice the rate: 10 requests pass, the 11th does not.
    for i in 0..10 {
        let r = post_root(&s, &[("X-MCP-Auth-Token", "token-a")]);
        assert_eq!(r.status, 200, "request {i}");
    }
    let r = post_root(&s, &[("X-MCP-Auth-Token", "token-a")]);
    assert_eq!(r.status, 429, "{r:?}");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=12).contains(&retry), "Retry-After {retry}");
    // Another token has its own budget; /health is never limited.
    assert_eq!(
        post_root(&s, &[("X-MCP-Auth-Token", "token-b")]).status,
        200
    );
    assert_eq!(s.request("GET", "/health", &[], b"").status, 200);
}

#[test]
fn refuses_to_start_without_a_token_and_no_auth_only_on_loopback() {
    let out = common::command()
        .args(["--http", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-auth"));
    let out = common::command()
        .args(["--http", "--host", "0.0.0.0", "--no-auth", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let s = HttpServer::start_raw(&["--no-auth"], &[]);
    let r = post_root(&s, &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "execute_command", "arguments": {"command": "true"}}});
    let r = s.request(
        "POST",
        "/",
        &[("Content-Type", "application/json")],
        call.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(events(&s.stderr(), "CMD_EXEC")[0]["caller"], "anonymous");
}

#[test]
fn a_chunked_body_over_one_mib_is_413_too() {
    use std::io::{Read, Write};
    let s = HttpServer::start(&[], &[]);
    for path in ["/", "/mcp"] {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-MCP-Auth-Token: {TOKEN}\r\n\
             Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            s.port
        );
        c.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b' '; 64 * 1024];
        // 17 chunks of 64 KiB = 1.06 MiB; the server may stop reading early.
        for _ in 0..17 {
            if c.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .is_err()
                || c.write_all(&chunk).is_err()
                || c.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = c.write_all(b"0\r\n\r\n");
        let mut raw = Vec::new();
        let _ = c.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 413"), "{path}: {text}");
    }
}

/// A burst of wrong tokens from one address: the first ones get 401 and an `AUTH_FAILED`
/// line each; past the address's budget they get 429 with `Retry-After` and are summed up
/// in one `AUTH_FAILED` line (here written at shutdown) that still contains `401` and says
/// how many. A valid token from the same address is served throughout.
#[test]
fn a_burst_of_wrong_tokens_is_throttled_but_a_valid_token_never_is() {
    let mut s = HttpServer::start(&[], &[]);
    let mut statuses = Vec::new();
    for i in 0..60 {
        let r = post_root(&s, &[("X-MCP-Auth-Token", "wrong-token")]);
        if r.status == 429 {
            let wait: u64 = r
                .header("retry-after")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            assert!((1..=60).contains(&wait), "{r:?}");
            assert_eq!(r.json()["error"]["code"], -32001, "{}", r.body);
        }
        statuses.push(r.status);
        if i % 20 == 19 {
            let ok = post_root(&s, &[("X-MCP-Auth-Token", TOKEN)]);
            assert_eq!(
                ok.status,
                200,
                "a valid token after {} failures: {ok:?}",
                i + 1
            );
        }
    }
    let no_token = post_root(&s, &[]);
    assert_eq!(no_token.status, 429, "{no_token:?}");
    let unauthorized = statuses.iter().filter(|&&c| c == 401).count();
    let throttled = statuses.iter().filter(|&&c| c == 429).count() + 1;
    assert_eq!(unauthorized + throttled, 61, "{statuses:?}");
    // The budget is 20 at once (one more may have refilled during the loop).
    assert!((20..=22).contains(&unauthorized), "{statuses:?}");
    assert_eq!(
        events(&s.stderr(), "AUTH_FAILED").len(),
        unauthorized,
        "one line per 401, none per 429 yet"
    );

    s.sigterm();
    assert_eq!(s.wait_exit(std::time::Duration::from_secs(30)), Some(0));
    let failed = events(&s.stderr(), "AUTH_FAILED");
    assert_eq!(failed.len(), unauthorized + 1, "{failed:?}");
    let summary = &failed[unauthorized];
    let message = summary["message"].as_str().unwrap_or_default();
    assert!(message.contains("401"), "{message}");
    assert!(message.contains(&throttled.to_string()), "{message}");
    assert_eq!(summary["suppressed"], throttled as u64, "{summary}");
    assert_eq!(summary["remote_addr"], "127.0.0.1", "{summary}");
    assert_eq!(summary["level"], "warn");
    assert!(
        !s.stderr().contains("wrong-token"),
        "a presented token was logged"
    );
}
