//! CORS with `--allowed-origins`: a page on an allowed origin can make its preflight
//! without a token and read every answer (401 included); a foreign origin gets 403 and no
//! CORS headers, preflight included.

mod common;
mod http_support;

use http_support::{HttpServer, Reply, TOKEN};
use serde_json::json;

const APP: &str = "https://app.example.com";

fn preflight(s: &HttpServer, origin: &str) -> Reply {
    s.request(
        "OPTIONS",
        "/mcp",
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "authorization, content-type, mcp-session-id",
            ),
        ],
        b"",
    )
}

/// The comma-separated list in header `name`, lower-cased and trimmed.
fn list(r: &Reply, name: &str) -> Vec<String> {
    r.header(name)
        .unwrap_or_default()
        .split(',')
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

fn post_root(s: &HttpServer, origin: &str, token: Option<&str>) -> Reply {
    let mut h = vec![("Content-Type", "application/json"), ("Origin", origin)];
    if let Some(t) = token {
        h.push(("X-MCP-Auth-Token", t));
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    s.request("POST", "/", &h, body.as_bytes())
}

#[test]
fn an_allowed_origin_gets_its_preflight_and_can_read_every_answer() {
    let s = HttpServer::start(&["--allowed-origins", APP], &[]);

    let p = preflight(&s, APP);
    assert_eq!(p.status, 204, "a preflight carries no token: {p:?}");
    assert_eq!(p.header("access-control-allow-origin"), Some(APP), "{p:?}");
    assert_eq!(
        list(&p, "access-control-allow-methods"),
        ["get", "post", "delete"]
    );
    let allowed = list(&p, "access-control-allow-headers");
    for h in [
        "authorization",
        "content-type",
        "accept",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
        "x-mcp-auth-token",
    ] {
        assert!(allowed.iter().any(|a| a == h), "{h} not in {allowed:?}");
    }
    assert!(
        p.header("access-control-max-age")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|secs| secs > 0),
        "{p:?}"
    );
    assert!(list(&p, "vary").iter().any(|v| v == "origin"), "{p:?}");

    for (what, token) in [("with the token", Some(TOKEN)), ("without", None)] {
        let r = post_root(&s, APP, token);
        assert_eq!(
            r.status,
            if token.is_some() { 200 } else { 401 },
            "{what}: {r:?}"
        );
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(APP),
            "{what}: {r:?}"
        );
        assert_eq!(
            list(&r, "access-control-expose-headers"),
            [
                "mcp-session-id",
                "mcp-protocol-version",
                "www-authenticate",
                "retry-after"
            ],
            "{what}"
        );
        assert!(
            list(&r, "vary").iter().any(|v| v == "origin"),
            "{what}: {r:?}"
        );
    }
}

#[test]
fn a_foreign_origin_is_403_with_no_cors_headers_and_no_list_means_no_cors() {
    let s = HttpServer::start(&["--allowed-origins", APP], &[]);
    for r in [
        preflight(&s, "https://evil.example"),
        post_root(&s, "https://evil.example", Some(TOKEN)),
        preflight(&s, "https://app.example.com.evil.example"),
    ] {
        assert_eq!(r.status, 403, "{r:?}");
        assert_eq!(r.header("access-control-allow-origin"), None, "{r:?}");
    }
    // Without --allowed-origins only loopback origins pass, and none gets CORS headers:
    // a preflight is authenticated like any request.
    let s = HttpServer::start(&[], &[]);
    let p = preflight(&s, "http://localhost:5173");
    assert_eq!(p.status, 401, "{p:?}");
    assert_eq!(p.header("access-control-allow-origin"), None, "{p:?}");
}

#[test]
fn only_a_preflight_for_a_route_gets_the_cors_answer() {
    let s = HttpServer::start(&["--allowed-origins", APP], &[]);
    let options = |path: &str, headers: &[(&str, &str)]| s.request("OPTIONS", path, headers, b"");
    let preflight_headers = [("Origin", APP), ("Access-Control-Request-Method", "POST")];
    // An unknown path is 404 for OPTIONS as for every method, preflight or not.
    for h in [&preflight_headers[..], &[]] {
        let r = options("/nope", h);
        assert_eq!(r.status, 404, "{r:?}");
        assert_eq!(r.header("access-control-allow-origin"), None, "{r:?}");
    }
    // An OPTIONS that is no preflight (no Origin, or no requested method) is 405 with the
    // route's methods.
    for h in [&[][..], &[("Origin", APP)]] {
        let r = options("/mcp", h);
        assert_eq!(r.status, 405, "{r:?}");
        assert_eq!(r.header("allow"), Some("GET, POST, DELETE"), "{r:?}");
    }
    assert_eq!(options("/health", &[]).header("allow"), Some("GET, HEAD"));
    // /metrics is a route only with --metrics.
    assert_eq!(options("/metrics", &preflight_headers).status, 404);
    // The real preflight still works, on each route.
    for path in ["/mcp", "/", "/health"] {
        let r = options(path, &preflight_headers);
        assert_eq!(r.status, 204, "{path}: {r:?}");
        assert_eq!(r.header("access-control-allow-origin"), Some(APP), "{r:?}");
    }
}
