//! [`SandboxConfig`]: which sandbox layers to turn off or require, the network switch,
//! and the resource limits of commands, resolved from flags and environment.
//!
//! The executor probes the layers at start ([`crate::exec::sandbox::Sandbox::new`]); this
//! only validates what the operator asked for.

use std::collections::BTreeSet;

use crate::exec::sandbox::{Layer, Limits, Network};

use super::cli::SandboxOptions;
use super::{invalid, parse_size, ConfigError, Resolver};

/// The operator's sandbox settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxConfig {
    pub disabled: BTreeSet<Layer>,
    pub required: BTreeSet<Layer>,
    pub network: Network,
    pub limits: Limits,
}

fn layers(name: &'static str, s: &str) -> Result<BTreeSet<Layer>, ConfigError> {
    let mut out = BTreeSet::new();
    for item in super::split_list(s) {
        if item.eq_ignore_ascii_case("all") {
            out.extend(Layer::ALL);
            continue;
        }
        if item.eq_ignore_ascii_case("none") {
            continue;
        }
        let l = Layer::parse(&item).ok_or_else(|| {
            invalid(
                name,
                &item,
                "expected reaper, nproc, landlock, seccomp, cgroup or all",
            )
        })?;
        out.insert(l);
    }
    Ok(out)
}

fn count(name: &'static str, s: &str) -> Result<u64, ConfigError> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(invalid(name, s, "expected a whole number of at least 1")),
    }
}

impl SandboxConfig {
    pub(super) fn resolve(o: &SandboxOptions, r: &mut Resolver<'_>) -> Result<Self, ConfigError> {
        let d = Limits::default();
        let disabled = match r.value("sandbox_disable", "MCP_SANDBOX_DISABLE", &o.sandbox_disable) {
            Some(s) => layers("--sandbox-disable", s)?,
            None => BTreeSet::new(),
        };
        let required = match r.value("sandbox_require", "MCP_SANDBOX_REQUIRE", &o.sandbox_require) {
            Some(s) => layers("--sandbox-require", s)?,
            None => BTreeSet::new(),
        };
        if let Some(l) = required.intersection(&disabled).next() {
            return Err(ConfigError::Refused(format!(
                "sandbox layer {l} is both required and turned off"
            )));
        }
        let network = match r.value("network", "MCP_NETWORK", &o.network) {
            Some(s) => match s.trim().to_ascii_lowercase().as_str() {
                "allow" | "allowed" | "on" => Network::Allow,
                "deny" | "denied" | "off" => Network::Deny,
                _ => return Err(invalid("--network", s, "expected allow or deny")),
            },
            None => Network::Allow,
        };
        let nproc_budget = match r.value("nproc_budget", "MCP_NPROC_BUDGET", &o.nproc_budget) {
            Some(s) => count("--nproc-budget", s)?,
            None => d.nproc_budget,
        };
        let open_files = match r.value("max_open_files", "MCP_MAX_OPEN_FILES", &o.max_open_files) {
            Some(s) => count("--max-open-files", s)?,
            None => d.open_files,
        };
        let size = |r: &mut Resolver<'_>, id, key, name, v: &Option<String>, def: u64| match r
            .value(id, key, v)
        {
            Some(s) => parse_size(s)
                .map(|n| n as u64)
                .map_err(|why| invalid(name, s, why)),
            None => Ok(def),
        };
        let memory = size(
            r,
            "max_memory",
            "MCP_MAX_MEMORY",
            "--max-memory",
            &o.max_memory,
            d.memory,
        )?;
        let file_size = size(
            r,
            "max_file_size",
            "MCP_MAX_FILE_SIZE",
            "--max-file-size",
            &o.max_file_size,
            d.file_size,
        )?;
        Ok(SandboxConfig {
            disabled,
            required,
            network,
            limits: Limits {
                open_files,
                file_size,
                memory,
                nproc_budget,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_invocation;

    fn config(args: &[&str]) -> Result<SandboxConfig, ConfigError> {
        let mut argv = vec!["mcp-commander"];
        argv.extend_from_slice(args);
        parse_invocation(argv, &[]).map(|i| i.config.sandbox)
    }

    #[test]
    fn defaults_turn_everything_on() {
        let c = config(&[]).unwrap();
        assert!(c.disabled.is_empty() && c.required.is_empty());
        assert_eq!(c.network, Network::Allow);
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn layers_limits_and_network_parse() {
        let c = config(&[
            "--sandbox-disable",
            "landlock, cgroup",
            "--sandbox-require",
            "reaper",
            "--network",
            "deny",
            "--nproc-budget",
            "64",
            "--max-memory",
            "512MB",
            "--max-file-size",
            "1MB",
            "--max-open-files",
            "100",
        ])
        .unwrap();
        assert_eq!(
            c.disabled,
            [Layer::Landlock, Layer::Cgroup].into_iter().collect()
        );
        assert_eq!(c.required, [Layer::Reaper].into_iter().collect());
        assert_eq!(c.network, Network::Deny);
        assert_eq!(c.limits.nproc_budget, 64);
        assert_eq!(c.limits.memory, 512 << 20);
        assert_eq!(c.limits.file_size, 1 << 20);
        assert_eq!(c.limits.open_files, 100);
        assert_eq!(
            config(&["--sandbox-disable", "all"])
                .unwrap()
                .disabled
                .len(),
            5
        );
    }

    #[test]
    fn contradictions_and_typos_are_refused() {
        assert!(config(&["--sandbox-disable", "landlok"]).is_err());
        assert!(config(&[
            "--sandbox-disable",
            "seccomp",
            "--sandbox-require",
            "seccomp"
        ])
        .is_err());
        assert!(config(&["--network", "maybe"]).is_err());
        assert!(config(&["--nproc-budget", "0"]).is_err());
    }
}
