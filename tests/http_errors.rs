//! What a client is told when its request cannot be served, on `/mcp` and `POST /`: always a
//! JSON-RPC error object (with `"id": null` when no id can be taken from the request), with
//! a code and a message that say what is wrong.

mod common;
mod http_support;

use http_support::{session_headers, HttpServer, Reply};
use serde_json::{json, Value};

/// Requests whose shape does not fit their method, or whose method is not served, with the
/// code and a piece of the message each must get.
fn unservable() -> Vec<(Value, i64, &'static str)> {
    let req = |id: i64, method: &str, params: Option<Value>| {
        let mut v = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let Some(p) = params {
            v["params"] = p;
        }
        v
    };
    vec![
        (
            req(1, "tools/call", None),
            -32602,
            "Invalid params for tools/call: params is missing",
        ),
        (
            req(
                2,
                "tools/call",
                Some(json!({"name": "execute_command", "arguments": "x"})),
            ),
            -32602,
            "params.arguments must be an object",
        ),
        (
            req(3, "tools/call", Some(json!({"arguments": {}}))),
            -32602,
            "params.name is missing",
        ),
        (
            req(4, "tools/list", Some(json!([1]))),
            -32602,
            "params must be an object, not an array",
        ),
        (
            req(8, "initialize", None),
            -32602,
            "Invalid params for initialize: params is missing",
        ),
        (
            req(5, "foo/bar", Some(json!({}))),
            -32601,
            "Method not found: foo/bar",
        ),
        (
            req(6, "logging/setLevel", Some(json!({"level": "info"}))),
            -32601,
            "Method not found: logging/setLevel",
        ),
    ]
}

fn check(r: &Reply, id: i64, code: i64, text: &str) {
    let v = r.json();
    assert_eq!(v["id"], id, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains(text), "{text:?} not in {msg:?}");
}

#[test]
fn shape_errors_are_invalid_params_and_unknown_methods_are_named_on_both_routes() {
    let s = HttpServer::start(&[], &[]);
    let sid = s.open_session();
    let session = session_headers(&sid);
    for (body, code, text) in unservable() {
        let id = body["id"].as_i64().unwrap_or_default();
        let r = s.rpc("/", &[], &body);
        check(&r, id, code, text);
        let r = s.rpc("/mcp", &session, &body);
        check(&r, id, code, text);
    }
    // An initialize that opens no session because rmcp cannot read it is told why.
    for (params, text) in [
        (None, "params is missing"),
        (Some(json!({"capabilities": {}})), "protocolVersion"),
    ] {
        let mut init = json!({"jsonrpc": "2.0", "id": 4, "method": "initialize"});
        if let Some(p) = params {
            init["params"] = p;
        }
        let r = s.rpc("/mcp", &[], &init);
        assert_eq!(r.status, 400, "{r:?}");
        check(&r, 4, -32602, text);
    }
    // A well-formed call still runs.
    let ok = s.rpc(
        "/",
        &[],
        &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "execute_command", "arguments": {"command": "echo fine"}}}),
    );
    assert!(ok.body.contains("fine"), "{ok:?}");
}

/// One refused request on `/mcp` and what its answer must carry.
struct Refused<'a> {
    method: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    status: u16,
    id: Value,
    text: &'a str,
}

/// rmcp's refusals on `/mcp` (plain text of its own) and its JSON errors without an id
/// reach the client as JSON-RPC error objects, with the status rmcp chose.
#[test]
fn refusals_on_mcp_and_post_root_are_json_rpc_error_objects() {
    let s = HttpServer::start(&[], &[]);
    let auth = ("X-MCP-Auth-Token", http_support::TOKEN);
    let json_ct = ("Content-Type", "application/json");
    let accept = ("Accept", "application/json, text/event-stream");
    let list = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}).to_string();
    let cases = [
        // No Accept header.
        Refused {
            method: "POST",
            headers: vec![auth, json_ct],
            status: 406,
            id: json!(7),
            text: "Not Acceptable",
        },
        // Not JSON by its Content-Type.
        Refused {
            method: "POST",
            headers: vec![auth, ("Content-Type", "text/plain"), accept],
            status: 415,
            id: json!(7),
            text: "Content-Type",
        },
        // A method /mcp does not have.
        Refused {
            method: "PUT",
            headers: vec![auth],
            status: 405,
            id: Value::Null,
            text: "Method Not Allowed",
        },
        // A session that does not exist.
        Refused {
            method: "POST",
            headers: vec![auth, json_ct, accept, ("Mcp-Session-Id", "no-such-session")],
            status: 404,
            id: json!(7),
            text: "Session not found",
        },
        // No session and no initialize.
        Refused {
            method: "POST",
            headers: vec![auth, json_ct, accept],
            status: 400,
            id: json!(7),
            text: "Session ID is required",
        },
    ];
    for c in cases {
        let body = if c.method == "POST" {
            list.as_str()
        } else {
            ""
        };
        let r = s.request(c.method, "/mcp", &c.headers, body.as_bytes());
        assert_eq!(r.status, c.status, "{} {:?}: {r:?}", c.method, c.headers);
        assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
        let v = r.json();
        assert_eq!(v["jsonrpc"], "2.0", "{v}");
        assert_eq!(v["id"], c.id, "{v}");
        assert_eq!(v["error"]["code"], -32600, "{v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(c.text), "{:?} not in {msg:?}", c.text);
        if c.status == 405 {
            assert!(r.header("allow").is_some(), "{r:?}");
        }
    }
    // A JSON-RPC response object sent to POST /: an error object with "id": null.
    let r = s.rpc("/", &[], &json!({"jsonrpc": "2.0", "id": 1, "result": {}}));
    assert_eq!(r.status, 400, "{r:?}");
    let v = r.json();
    assert!(v.as_object().is_some_and(|m| m.contains_key("id")), "{v}");
    assert_eq!(v["id"], Value::Null, "{v}");
    assert!(v["error"]["code"].is_i64(), "{v}");
}

/// JSON that is well formed but not a JSON-RPC message rmcp can read (an id that is null,
/// a float, a boolean or an object, an integer past 64 bits, a repeated key, the wrong
/// `jsonrpc`) is `400` with `-32600` on `/mcp` and `POST /`, not rmcp's `415` (the media
/// type was right); malformed JSON inside a value nothing reads (bad UTF-8, a lone
/// surrogate, nesting past the limit) is `-32700` on `/mcp` too (review F7).
#[test]
fn json_that_is_not_a_json_rpc_message_is_400() {
    let s = HttpServer::start(&[], &[]);
    let auth = ("X-MCP-Auth-Token", http_support::TOKEN);
    let headers = [
        auth,
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let not_messages = [
        r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":true,"method":"tools/list"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/list"}"#
            .to_string(),
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/list"}"#.to_string(),
        r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#.to_string(),
    ];
    for body in &not_messages {
        for path in ["/mcp", "/"] {
            let r = s.request("POST", path, &headers, body.as_bytes());
            assert_eq!(r.status, 400, "{path} {body}: {r:?}");
            assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
            let v = r.json();
            assert_eq!(v["error"]["code"], -32600, "{path} {body}: {v}");
            // The id where one can be read (of a repeated one, serde's pick), else null.
            assert!(v["id"].is_null() || v["id"].is_i64(), "{path} {body}: {v}");
        }
    }
    let mut bad_utf8 = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","x":""#.to_vec();
    bad_utf8.extend_from_slice(b"\xff\xfe\"}");
    let surrogate = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","x":"\ud800"}"#.to_vec();
    let nested = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"x":{}{}}}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    )
    .into_bytes();
    for body in [bad_utf8, surrogate, nested] {
        let r = s.request("POST", "/mcp", &headers, &body);
        assert_eq!(r.status, 400, "{}: {r:?}", String::from_utf8_lossy(&body));
        assert_eq!(r.json()["error"]["code"], -32700, "{}", r.body);
    }
    // The server goes on serving.
    let ok = s.rpc(
        "/",
        &[],
        &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}),
    );
    assert_eq!(ok.status, 200, "{ok:?}");
}

/// A method a route does not serve (`GET /`, `PUT /`, `POST`/`DELETE /health`,
/// `POST /metrics`) is `405` with `Allow` and a JSON-RPC error body, like every other
/// answer on these routes (it was an empty body without a `Content-Type`: review F8).
#[test]
fn methods_a_route_does_not_serve_get_a_json_405() {
    let s = HttpServer::start(&["--metrics"], &[]);
    let auth = ("X-MCP-Auth-Token", http_support::TOKEN);
    for (method, path, allowed) in [
        ("GET", "/", "POST"),
        ("PUT", "/", "POST"),
        ("POST", "/health", "GET"),
        ("DELETE", "/health", "GET"),
        ("POST", "/metrics", "GET"),
    ] {
        let r = s.request(method, path, &[auth], b"");
        assert_eq!(r.status, 405, "{method} {path}: {r:?}");
        assert!(
            r.header("allow").is_some_and(|a| a.contains(allowed)),
            "{method} {path}: {r:?}"
        );
        assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
        let v = r.json();
        assert_eq!(v["jsonrpc"], "2.0", "{v}");
        assert_eq!(v["error"]["code"], -32600, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Method Not Allowed") && m.contains(method)),
            "{v}"
        );
    }
}
