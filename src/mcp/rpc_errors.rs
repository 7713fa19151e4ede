//! JSON-RPC errors for requests the tools cannot serve, worded for the client that sent them.
//!
//! rmcp reads a request whose `params` do not fit its method (`tools/call` without
//! `params`, `arguments` that is not an object, …) as a "custom" request and, left to its
//! defaults, answers `-32601` with the bare method name: the client is told the method does
//! not exist when it only sent the wrong shape. Here a method the server knows with
//! unfitting params is `-32602 Invalid params` naming what is wrong, and a method it does
//! not serve is `-32601 Method not found: <method>`. The same answers go out on stdio,
//! `/mcp` and `POST /`: [`answer_unserved_methods!`](crate::answer_unserved_methods) puts
//! them into every handler.

// rmcp deprecates logging (SEP-2577), but clients still send `logging/setLevel`.
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolRequestParams, CompleteRequestParams, ErrorCode, GetPromptRequestParams,
    InitializeRequestParams, PaginatedRequestParams, ReadResourceRequestParams,
};
use rmcp::ErrorData;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `-32601` for a method this server does not serve.
pub fn method_not_found(method: &str) -> ErrorData {
    ErrorData::new(
        ErrorCode::METHOD_NOT_FOUND,
        format!("Method not found: {}", shown(method, MAX_SHOWN_METHOD)),
        None,
    )
}

/// How much of a client's method name an answer repeats.
const MAX_SHOWN_METHOD: usize = 128;
/// How much of a deserializer's complaint (which quotes the client's values) it repeats.
const MAX_SHOWN_PROBLEM: usize = 512;

/// Client text as an answer repeats it: cut to `max` bytes, so a megabyte-long method name
/// does not come back (and into rmcp's own log line) whole.
fn shown(text: &str, max: usize) -> String {
    crate::audit::cut(text.to_string(), max)
}

/// The answer to a request rmcp could not route: `-32602` when `method` is one the
/// server knows (its params do not fit), else `-32601`.
pub fn unroutable(method: &str, params: Option<&Value>) -> ErrorData {
    match fit(method, params) {
        Fit::Unknown => method_not_found(method),
        Fit::Problem(problem) => params_error(method, &problem),
        // rmcp could not read them, but what it objected to is not one we can name.
        Fit::Fits => params_error(method, "params could not be read"),
    }
}

fn params_error(method: &str, problem: &str) -> ErrorData {
    ErrorData::invalid_params(
        format!(
            "Invalid params for {method}: {}",
            shown(problem, MAX_SHOWN_PROBLEM)
        ),
        None,
    )
}

/// `-32602` for a whole JSON-RPC request (one rmcp could not read, say) that names a
/// method the server knows with params that do not fit it; `None` otherwise.
pub fn invalid_params(message: &Value) -> Option<ErrorData> {
    let method = message.get("method")?.as_str()?;
    match fit(method, message.get("params")) {
        Fit::Problem(problem) => Some(params_error(method, &problem)),
        Fit::Unknown | Fit::Fits => None,
    }
}

/// Whether params are required, and how to read them, for each method with params.
type Reader = fn(Value) -> Result<(), serde_json::Error>;

fn reads<T: DeserializeOwned>(v: Value) -> Result<(), serde_json::Error> {
    serde_json::from_value::<T>(v).map(drop)
}

/// The MCP requests with params, as (method, params required, their reader).
#[allow(deprecated)]
const KNOWN: &[(&str, bool, Reader)] = &[
    ("initialize", true, reads::<InitializeRequestParams>),
    ("tools/call", true, reads::<CallToolRequestParams>),
    ("tools/list", false, reads::<PaginatedRequestParams>),
    ("prompts/list", false, reads::<PaginatedRequestParams>),
    ("prompts/get", true, reads::<GetPromptRequestParams>),
    ("resources/list", false, reads::<PaginatedRequestParams>),
    (
        "resources/templates/list",
        false,
        reads::<PaginatedRequestParams>,
    ),
    ("resources/read", true, reads::<ReadResourceRequestParams>),
    ("logging/setLevel", true, reads::<SetLevelRequestParams>),
    ("completion/complete", true, reads::<CompleteRequestParams>),
];

/// How `params` fit `method`.
#[derive(Debug, PartialEq, Eq)]
enum Fit {
    /// The method is not one of [`KNOWN`].
    Unknown,
    /// Nothing wrong that can be named.
    Fits,
    /// What is wrong with them.
    Problem(String),
}

fn fit(method: &str, params: Option<&Value>) -> Fit {
    let Some(&(_, required, read)) = KNOWN.iter().find(|(m, _, _)| *m == method) else {
        return Fit::Unknown;
    };
    let problem = match params {
        None | Some(Value::Null) if required && method == "tools/call" => {
            r#"params is missing; send {"name": "<tool>", "arguments": {…}}"#.to_string()
        }
        None | Some(Value::Null) if required => "params is missing".to_string(),
        None | Some(Value::Null) => return Fit::Fits,
        Some(p) if !p.is_object() => format!("params must be an object, not {}", kind(p)),
        Some(p) => match tool_call_problem(method, p)
            .or_else(|| read(p.clone()).err().map(|e| e.to_string()))
        {
            Some(problem) => problem,
            None => return Fit::Fits,
        },
    };
    Fit::Problem(problem)
}

/// The shape errors a `tools/call` most often has, said in MCP's terms rather than serde's.
fn tool_call_problem(method: &str, params: &Value) -> Option<String> {
    if method != "tools/call" {
        return None;
    }
    match params.get("name") {
        None => return Some("params.name is missing (the name of the tool to call)".into()),
        Some(Value::String(_)) => {}
        Some(v) => return Some(format!("params.name must be a string, not {}", kind(v))),
    }
    match params.get("arguments") {
        None | Some(Value::Null) | Some(Value::Object(_)) => None,
        Some(v) => Some(format!(
            "params.arguments must be an object of the tool's arguments, not {}",
            kind(v)
        )),
    }
}

/// "a string", "an array", …: a JSON value's kind, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The [`ServerHandler`](rmcp::ServerHandler) methods whose rmcp defaults answer with a
/// bare method name: a custom (unroutable) request gets [`unroutable`], and the MCP methods
/// this server does not serve get [`method_not_found`]. Expanded inside an
/// `impl ServerHandler` block.
#[macro_export]
macro_rules! answer_unserved_methods {
    () => {
        fn on_custom_request(
            &self,
            request: rmcp::model::CustomRequest,
            _context: rmcp::service::RequestContext<rmcp::RoleServer>,
        ) -> impl std::future::Future<Output = Result<rmcp::model::CustomResult, rmcp::ErrorData>>
               + Send
               + '_ {
            std::future::ready(Err($crate::mcp::rpc_errors::unroutable(
                &request.method,
                request.params.as_ref(),
            )))
        }

        #[allow(deprecated)]
        fn set_level(
            &self,
            _request: rmcp::model::SetLevelRequestParams,
            _context: rmcp::service::RequestContext<rmcp::RoleServer>,
        ) -> impl std::future::Future<Output = Result<(), rmcp::ErrorData>> + Send + '_ {
            std::future::ready(Err($crate::mcp::rpc_errors::method_not_found(
                "logging/setLevel",
            )))
        }

        fn get_prompt(
            &self,
            _request: rmcp::model::GetPromptRequestParams,
            _context: rmcp::service::RequestContext<rmcp::RoleServer>,
        ) -> impl std::future::Future<
            Output = Result<rmcp::model::GetPromptResponse, rmcp::ErrorData>,
        > + Send
               + '_ {
            std::future::ready(Err($crate::mcp::rpc_errors::method_not_found(
                "prompts/get",
            )))
        }

        fn read_resource(
            &self,
            _request: rmcp::model::ReadResourceRequestParams,
            _context: rmcp::service::RequestContext<rmcp::RoleServer>,
        ) -> impl std::future::Future<
            Output = Result<rmcp::model::ReadResourceResponse, rmcp::ErrorData>,
        > + Send
               + '_ {
            std::future::ready(Err($crate::mcp::rpc_errors::method_not_found(
                "resources/read",
            )))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(method: &str, params: Option<Value>) -> (i32, String) {
        let e = unroutable(method, params.as_ref());
        (e.code.0, e.message.to_string())
    }

    #[test]
    fn a_known_method_with_unfitting_params_is_invalid_params() {
        let (code, msg) = message("tools/call", None);
        assert_eq!(code, -32602);
        assert!(
            msg.contains("tools/call") && msg.contains("params is missing"),
            "{msg}"
        );
        let (code, msg) = message(
            "tools/call",
            Some(json!({"name": "execute_command", "arguments": "x"})),
        );
        assert_eq!(code, -32602);
        assert!(msg.contains("params.arguments must be an object"), "{msg}");
        assert!(msg.contains("not a string"), "{msg}");
        let (_, msg) = message("tools/call", Some(json!({"arguments": {}})));
        assert!(msg.contains("params.name is missing"), "{msg}");
        let (_, msg) = message("tools/call", Some(json!({"name": 5})));
        assert!(
            msg.contains("params.name must be a string, not a number"),
            "{msg}"
        );
        let (code, msg) = message("tools/list", Some(json!([1])));
        assert_eq!(code, -32602);
        assert!(msg.contains("must be an object, not an array"), "{msg}");
        let (code, msg) = message("initialize", Some(json!({})));
        assert_eq!(code, -32602);
        assert!(msg.contains("protocolVersion"), "{msg}");
    }

    #[test]
    fn an_unknown_method_is_method_not_found_by_name() {
        assert_eq!(
            message("foo/bar", Some(json!({}))),
            (-32601, "Method not found: foo/bar".to_string())
        );
    }
}
