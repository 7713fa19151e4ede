//! JSON-RPC error answers on the MCP routes.
//!
//! The server's own refusals are built here ([`rpc_error`], [`too_large`]), and
//! [`as_json_rpc`] rewrites rmcp's: rmcp answers a request it refuses at the HTTP level
//! (wrong `Accept` or `Content-Type`, unknown session, unreadable message, method not
//! allowed) with a bare text body and no `Content-Type`, and some of its JSON errors lack
//! the `"id"` member JSON-RPC requires. A client should get one shape for every refusal:
//! `application/json`, `{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…}}`, with the
//! request's id when one can be taken from it and `null` otherwise.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::mcp::rpc_errors::invalid_params;

/// The most of rmcp's own error body that is read (its texts are a line long).
const MAX_REFUSAL_BODY: usize = 64 * 1024;
/// The most of rmcp's error text carried into the message.
const MAX_REFUSAL_TEXT: usize = 300;

/// A JSON-RPC error answered by the server itself (not by rmcp), closing the connection
/// when the request's body may not have been read to its end.
pub fn rpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    rpc_error_for(status, Value::Null, code, message)
}

/// [`rpc_error`] answering the request with id `id`.
fn rpc_error_for(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
    ) {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// A JSON-RPC refusal given before the request's body is read (403, 413, 429): it
/// closes the connection, since the unread body would otherwise be taken for the next
/// request on it.
pub fn refusal(status: StatusCode, code: i64, message: &str) -> Response {
    let mut resp = rpc_error(status, code, message);
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// A 429 [`refusal`] with `Retry-After` in whole seconds.
pub fn too_many_requests(code: i64, message: &str, retry_after: u64) -> Response {
    let mut resp = refusal(StatusCode::TOO_MANY_REQUESTS, code, message);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    resp
}

/// The 413 answer.
pub fn too_large() -> Response {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        -32600,
        "Request body too large: the limit is 1 MiB",
    )
}

/// The id of the JSON-RPC request in `body`: only a request (it has a `method`) has one
/// worth answering, and only a string or an integer is an id (a float, or an integer past
/// 64 bits, would come back changed).
fn request_id(request: Option<&Value>) -> Value {
    let Some(v) = request.filter(|v| v.get("method").is_some_and(Value::is_string)) else {
        return Value::Null;
    };
    match v.get("id") {
        Some(id @ Value::String(_)) => id.clone(),
        Some(id @ Value::Number(n)) if n.is_i64() || n.is_u64() => id.clone(),
        _ => Value::Null,
    }
}

/// True when `headers` declare a JSON body (`application/json`, any parameters), as rmcp
/// checks before it reads the body.
pub fn declares_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split_once(';').map_or(v, |(essence, _)| essence);
            essence.trim().eq_ignore_ascii_case("application/json")
        })
}

/// rmcp's answer to a body declared `application/json`: its 415 then means the body was
/// JSON but not a JSON-RPC message it could read (rmcp answers every body it cannot read
/// with 415), so the media type was right and the request is the problem: 400.
pub fn json_not_a_message(mut resp: Response) -> Response {
    if resp.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    resp
}

/// Middleware: a 405 that axum answers with an empty body (`GET /`, `POST /health`, …)
/// gets a JSON-RPC error body. (axum's router adds `Allow` outside its layers, so it is
/// still set on the answer.)
pub async fn method_not_allowed_as_json(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    if resp.status() != StatusCode::METHOD_NOT_ALLOWED
        || resp.headers().contains_key(header::CONTENT_TYPE)
    {
        return resp;
    }
    let mut out = rpc_error(
        StatusCode::METHOD_NOT_ALLOWED,
        -32600,
        &format!(
            "Method Not Allowed: {method} is not served on {}; the Allow header lists the methods that are",
            crate::audit::cut(path, 64)
        ),
    );
    keep_headers(&mut out, resp.headers());
    out
}

/// Copies onto `out` what a refusal said besides its body (`Allow` on a 405, say).
fn keep_headers(out: &mut Response, said: &axum::http::HeaderMap) {
    for (name, value) in said {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
}

/// The answer `resp` (rmcp's, or a refusal of ours) to a request with body `body` (none for
/// `GET` and `DELETE`), with an error in JSON-RPC's shape: a text refusal becomes a
/// JSON-RPC error with the same status (a request for a known method whose params rmcp
/// could not read: `-32602` naming the problem), and a JSON error without an id gets the
/// request's id, or `null`. Successful answers, and answers
/// that are already JSON-RPC, pass unchanged.
pub async fn as_json_rpc(resp: Response, body: Option<&Bytes>) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_ascii_lowercase());
    let json = content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with(b"application/json"));
    if content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with(b"text/event-stream"))
    {
        return resp;
    }
    let (parts, rmcp_body) = resp.into_parts();
    let Ok(said) = axum::body::to_bytes(rmcp_body, MAX_REFUSAL_BODY).await else {
        return rpc_error(status, code_for(status), &reason(status, ""));
    };
    let request: Option<Value> = body.and_then(|b| serde_json::from_slice(b).ok());
    let id = request_id(request.as_ref());
    if json {
        return match serde_json::from_slice::<Value>(&said) {
            Ok(Value::Object(mut m))
                if m.contains_key("error") && m.get("id").is_none_or(Value::is_null) =>
            {
                m.insert("id".into(), id);
                let mut parts = parts;
                parts.headers.remove(header::CONTENT_LENGTH);
                Response::from_parts(parts, Body::from(Value::Object(m).to_string()))
            }
            _ => Response::from_parts(parts, Body::from(said)),
        };
    }
    // rmcp's 400 and 415 mean it could not read the message: a known method with params
    // that do not fit it is said so.
    let unreadable = matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let mut out = match request
        .as_ref()
        .filter(|_| unreadable)
        .and_then(invalid_params)
    {
        Some(e) => rpc_error_for(StatusCode::BAD_REQUEST, id, i64::from(e.code.0), &e.message),
        None => rpc_error_for(
            status,
            id,
            code_for(status),
            &reason(status, &String::from_utf8_lossy(&said)),
        ),
    };
    // What rmcp said besides its body still holds.
    keep_headers(&mut out, &parts.headers);
    out
}

/// The JSON-RPC code for a refusal with HTTP status `status`.
fn code_for(status: StatusCode) -> i64 {
    if status.is_server_error() {
        -32603
    } else {
        -32600
    }
}

/// rmcp's text for a refusal, cut to a line, or the status's own words when it said none.
fn reason(status: StatusCode, said: &str) -> String {
    let said: String = said
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_REFUSAL_TEXT)
        .collect();
    if said.is_empty() {
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("refused")
        )
    } else {
        said
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(r: Response) -> Value {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    #[tokio::test]
    async fn a_text_refusal_becomes_a_json_rpc_error_with_the_request_id() {
        let rmcp = Response::builder()
            .status(StatusCode::NOT_ACCEPTABLE)
            .body(Body::from("Not Acceptable: Client must accept both"))
            .unwrap();
        let req = Bytes::from_static(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#);
        let r = as_json_rpc(rmcp, Some(&req)).await;
        assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let v = body_json(r).await;
        assert_eq!(v["id"], 7);
        assert_eq!(v["error"]["code"], -32600);
        assert_eq!(
            v["error"]["message"],
            "Not Acceptable: Client must accept both"
        );
    }

    #[tokio::test]
    async fn a_json_error_without_id_gets_id_null() {
        let rmcp = Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"no"}}"#,
            ))
            .unwrap();
        let req = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        let v = body_json(as_json_rpc(rmcp, Some(&req)).await).await;
        assert!(v.as_object().unwrap().contains_key("id"), "{v}");
        assert_eq!(v["id"], Value::Null);
    }

    #[tokio::test]
    async fn success_passes_unchanged() {
        let ok = Response::builder()
            .status(StatusCode::ACCEPTED)
            .body(Body::empty())
            .unwrap();
        assert_eq!(as_json_rpc(ok, None).await.status(), StatusCode::ACCEPTED);
    }
}
