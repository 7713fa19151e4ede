//! mcp-commander: a sandboxed shell-command MCP server.
//!
//! A call flows one way — **config → policy (decide) → exec (do) → audit (record)** — and
//! the MCP tools and transports are the outer skin:
//!
//! * [`config`]: flags, environment, `~/.mcp_env`, defaults → one immutable [`config::Config`].
//! * [`policy`]: pure decision on a command line: allow or deny, with the reason and rule.
//! * [`exec`]: runs an allowed line under the shell, bounded in time, output and resources,
//!   and ends every process it started; [`exec::sandbox`] holds the isolation layers.
//! * [`audit`]: one line per event on stderr (`CMD_EXEC`, `CMD_BLOCKED`, …), JSON or text.
//! * [`metrics`]: Prometheus counters for `GET /metrics`.
//! * [`service`]: [`service::Commander`], where a call goes through policy, exec and audit.
//! * [`mcp`]: the five MCP tools over the service (rmcp).
//! * [`transport`]: stdio and MCP Streamable HTTP (with go-mcp-commander's `POST /`,
//!   `/health`, token auth, limits and graceful shutdown) carrying MCP messages to the tools.
//! * [`app`]: what `main` runs: serve, `check`, `healthcheck`.

pub mod app;
pub mod audit;
pub mod config;
pub mod exec;
pub mod healthcheck;
pub mod mcp;
pub mod metrics;
pub mod policy;
pub mod service;
pub mod transport;
