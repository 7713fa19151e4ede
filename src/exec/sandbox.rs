//! The isolation layers applied to every command, what they are set to, and what is
//! really active here.
//!
//! Always on (every platform, no privileges): a process group of its own, stdin
//! `/dev/null`, a clean environment (see [`super::env`]), resource limits set in the child
//! before `exec`, and a server that is non-dumpable and the subreaper of what its commands
//! leave behind ([`Sandbox::new`] does that to the calling process).
//!
//! On Linux, on by default and best effort, each [`Layer`]: the per-command reaper shim
//! ([`super::reaper`]), a process budget relative to the user's current task count, Landlock,
//! seccomp and a cgroup v2 per command. [`Sandbox::new`] probes each one for real
//! at start — the reaper probe runs the shim once, which applies Landlock and seccomp in a
//! child and checks they bite — and fails when a layer the operator required is missing.
//! Commands then go through the shim's zygote (see [`super::reaper`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;

/// An optional isolation layer, each of which can be turned off or required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// The per-command reaper shim (Linux).
    Reaper,
    /// `RLIMIT_NPROC` relative to the user's current tasks (Linux; root is exempt).
    Nproc,
    /// Landlock: the filesystem read-only outside the writable directories (Linux).
    Landlock,
    /// seccomp: no ptrace, process_vm_*, io_uring; optionally no network (Linux).
    Seccomp,
    /// A cgroup v2 per command, ended with `cgroup.kill` (Linux; needs a writable cgroup
    /// and the reaper).
    Cgroup,
}

impl Layer {
    /// Every layer, in report order.
    pub const ALL: [Layer; 5] = [
        Layer::Reaper,
        Layer::Nproc,
        Layer::Landlock,
        Layer::Seccomp,
        Layer::Cgroup,
    ];

    /// The name used in flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Reaper => "reaper",
            Layer::Nproc => "nproc",
            Layer::Landlock => "landlock",
            Layer::Seccomp => "seccomp",
            Layer::Cgroup => "cgroup",
        }
    }

    /// Parses a layer name (case-insensitive).
    pub fn parse(s: &str) -> Option<Layer> {
        Layer::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether commands may open network sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    #[default]
    Allow,
    /// Only Unix sockets (enforced by seccomp, which is then required).
    Deny,
}

/// Resource limits for every command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `RLIMIT_NOFILE`.
    pub open_files: u64,
    /// `RLIMIT_FSIZE`, bytes.
    pub file_size: u64,
    /// `RLIMIT_DATA` on Linux (`RLIMIT_AS` would break the JVM and friends), bytes.
    pub memory: u64,
    /// Tasks a command may add to the user's current count (`RLIMIT_NPROC`).
    pub nproc_budget: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            open_files: 1024,
            file_size: 1 << 30,
            memory: 4 << 30,
            nproc_budget: 256,
        }
    }
}

/// A directory's identity: its device and inode numbers. A path is only a name: between
/// the moment the server checks a directory and the moment a command's child enters it or
/// Landlock opens it, another command may rename it away and put a symlink (to `$HOME`,
/// say) in its place. The identity recorded at the check is compared again wherever the
/// name is used later ([`super::linux::landlock_ruleset`], and after every `chdir` into a
/// working directory), and a mismatch fails closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DirId {
    pub dev: u64,
    pub ino: u64,
}

impl DirId {
    /// The identity of the directory the canonical path `real` (absolute, no symlink, no
    /// `.` or `..`: what [`std::fs::canonicalize`] returns) names *now*, taken from a
    /// descriptor of it: an error when a component of `real` is a symlink by now (it was
    /// swapped since it was resolved) or it is not a directory.
    pub fn of_real(real: &Path) -> std::io::Result<DirId> {
        #[cfg(target_os = "linux")]
        {
            let fd = super::linux::open_real_dir(real)?;
            super::linux::fd_id(std::os::fd::AsFd::as_fd(&fd))
        }
        #[cfg(all(unix, not(target_os = "linux")))]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(real)?;
            if !m.is_dir() || std::fs::canonicalize(real)? != real {
                return Err(std::io::Error::other(WORKDIR_CHANGED));
            }
            Ok(DirId {
                dev: m.dev(),
                ino: m.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = real;
            Ok(DirId { dev: 0, ino: 0 })
        }
    }

    /// The identity of the directory `path` names now, symlinks followed (for an
    /// [`super::ExecRequest`] that carries none: the executor takes it as it starts).
    pub fn of_path(path: &Path) -> std::io::Result<DirId> {
        DirId::of_real(&std::fs::canonicalize(path)?)
    }
}

/// Whether this process's working directory is the directory `id` (a `stat(".")`, which is
/// async-signal-safe: callable between `fork` and `exec`).
#[cfg(unix)]
pub(crate) fn cwd_is(id: DirId) -> bool {
    // SAFETY: stat of "." into local storage.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        #[allow(clippy::unnecessary_cast)]
        let same = libc::stat(c".".as_ptr(), &mut st) == 0
            && st.st_dev as u64 == id.dev
            && st.st_ino as u64 == id.ino;
        same
    }
}

/// What a command is told when its working directory was replaced between the server's
/// check and its start (nothing ran).
pub const WORKDIR_CHANGED: &str =
    "the working directory changed while the command was starting (it was replaced, by a symlink or another directory, after it was checked); the command did not run; try again";

/// The error code the server's direct spawn (no shim) reports for [`WORKDIR_CHANGED`]
/// (no `errno` is negative).
pub(crate) const WORKDIR_CHANGED_ERRNO: i32 = -0x5744;

/// A directory commands may write (under Landlock), with the identity it had when it was
/// checked: the rule is added only while the path still names that directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WritableDir {
    pub path: PathBuf,
    pub id: DirId,
    /// The command's working directory: a mismatch fails the command
    /// ([`WORKDIR_CHANGED`]) instead of leaving the directory read-only.
    pub workdir: bool,
}

/// What the operator asked of the sandbox.
#[derive(Debug, Clone, Default)]
pub struct SandboxSettings {
    /// Layers turned off.
    pub disabled: BTreeSet<Layer>,
    /// Layers that must be active, or the server does not start.
    pub required: BTreeSet<Layer>,
    pub network: Network,
    pub limits: Limits,
    /// Directories commands may write to besides their working directory (the allowed
    /// dirs; the temp dir is added by [`Sandbox::new`]).
    pub writable_dirs: Vec<PathBuf>,
    /// The `mcp-commander` binary to run as the reaper shim; `None` = this executable.
    pub reaper_exe: Option<PathBuf>,
}

/// Landlock's status.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct LandlockReport {
    /// The kernel's Landlock ABI (0 = none).
    pub abi: i32,
    /// `enforced`, `partially enforced`, `off` or `unavailable: why`.
    pub status: String,
}

/// Which isolation layers are active, as found at start.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct SandboxReport {
    /// `reaper` (per-command subreaper shim) or `process_group` (group kill plus the
    /// server as subreaper of escapees).
    pub process_tree: String,
    /// The relative process budget, `skipped: root`, `off` or `unavailable: why`.
    pub nproc: String,
    pub landlock: LandlockReport,
    /// `enforced`, `off` or `unavailable: why`.
    pub seccomp: String,
    /// `allowed` or `denied` (non-Unix sockets).
    pub network: String,
    /// `enforced: …` (cgroup.kill, and pids.max / memory.max where delegated), `off`, or
    /// `unavailable: why`.
    pub cgroup: String,
    /// The resource limits set in every command.
    pub rlimits: String,
    /// Whether same-user processes could read the server's memory and environment.
    pub dumpable: bool,
    /// Whether commands can read secrets (`MCP_AUTH_TOKEN`, `*_TOKEN`, `*SECRET*` …) in the
    /// environment of a process above the server (an init, `tini`, a launching shell):
    /// `none`, `protected by landlock: …` or `exposed: pid 1 (tini): MCP_AUTH_TOKEN`
    /// ([`super::exposure`]).
    pub ancestor_env: String,
}

/// A required layer is missing, or the settings contradict each other.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox layer {layer} is required but {status}")]
    Missing { layer: Layer, status: String },
    #[error("--network deny needs the seccomp layer, which is {0}")]
    NetworkNeedsSeccomp(String),
}

/// The sandbox shared by all commands: the probed layers and what each command gets.
#[derive(Debug)]
pub struct Sandbox {
    settings: SandboxSettings,
    report: SandboxReport,
    /// The shim binary, when the reaper layer is active.
    reaper: Option<PathBuf>,
    landlock: bool,
    seccomp: bool,
    /// The user whose tasks count against the budget, when the nproc layer is active.
    nproc_uid: Option<u32>,
    #[cfg(target_os = "linux")]
    bpf: Option<seccompiler::BpfProgram>,
    /// Processes a command may not signal: this server and its parent (the MCP client).
    protect: Vec<i32>,
    /// The writable directories (allowed dirs and temp), resolved, with their identities
    /// as found at start: one that is not a directory then is never writable, and one
    /// whose path names another directory later (renamed away, a symlink in its place) is
    /// not writable from then on.
    writable: Vec<WritableDir>,
    /// Where per-command cgroups go, when that layer is active.
    #[cfg(target_os = "linux")]
    cgroup: Option<super::linux::CgroupBase>,
    /// The user's task count, kept fresh by a background thread (so no call pays for
    /// walking `/proc`).
    user_tasks: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// How often the user's task count is refreshed.
#[cfg(target_os = "linux")]
const NPROC_REFRESH: Duration = Duration::from_millis(200);

impl Sandbox {
    /// Hardens this process (non-dumpable, child subreaper), probes every layer and checks
    /// the required ones.
    pub fn new(mut settings: SandboxSettings) -> Result<Sandbox, SandboxError> {
        let tmp = std::env::temp_dir();
        let tmp = std::fs::canonicalize(&tmp).unwrap_or(tmp);
        if !settings.writable_dirs.contains(&tmp) {
            settings.writable_dirs.push(tmp);
        }
        let dumpable = harden_server();
        let writable = writable_with_ids(&settings.writable_dirs);
        let mut sb = Sandbox {
            report: SandboxReport {
                process_tree: "process_group".into(),
                nproc: "off".into(),
                landlock: LandlockReport {
                    abi: 0,
                    status: "off".into(),
                },
                seccomp: "off".into(),
                network: "allowed".into(),
                cgroup: "off".into(),
                rlimits: rlimit_text(&settings.limits),
                dumpable,
                ancestor_env: String::new(),
            },
            reaper: None,
            landlock: false,
            seccomp: false,
            nproc_uid: None,
            #[cfg(target_os = "linux")]
            bpf: None,
            // SAFETY: getpid/getppid never fail.
            protect: unsafe { vec![libc::getpid(), libc::getppid()] },
            #[cfg(target_os = "linux")]
            cgroup: None,
            user_tasks: Default::default(),
            writable,
            settings,
        };
        sb.probe_layers();
        sb.report.ancestor_env = super::exposure::status(sb.landlock);
        sb.check_required()?;
        Ok(sb)
    }

    /// Every layer on, best effort, nothing required: what the server runs with when the
    /// operator configured nothing (the shim is this executable).
    pub fn probe() -> Sandbox {
        Sandbox::new(SandboxSettings::default())
            .unwrap_or_else(|_| Sandbox::always_on(Limits::default()))
    }

    /// The layers with nothing optional: for embedding and as a fallback.
    pub fn always_on(limits: Limits) -> Sandbox {
        let settings = SandboxSettings {
            disabled: Layer::ALL.into_iter().collect(),
            limits,
            ..SandboxSettings::default()
        };
        match Sandbox::new(settings) {
            Ok(s) => s,
            Err(e) => unreachable!("no layer is required: {e}"),
        }
    }

    /// The probed status.
    pub fn report(&self) -> &SandboxReport {
        &self.report
    }

    /// The settings it was built from (temp dir included in the writable dirs).
    pub fn settings(&self) -> &SandboxSettings {
        &self.settings
    }

    fn on(&self, l: Layer) -> bool {
        !self.settings.disabled.contains(&l)
    }

    fn status_of(&self, l: Layer) -> String {
        match l {
            Layer::Reaper if self.reaper.is_some() => "active".into(),
            Layer::Reaper => self.report.process_tree.clone(),
            Layer::Nproc => self.report.nproc.clone(),
            Layer::Landlock => self.report.landlock.status.clone(),
            Layer::Seccomp => self.report.seccomp.clone(),
            Layer::Cgroup => self.report.cgroup.clone(),
        }
    }

    fn active(&self, l: Layer) -> bool {
        match l {
            Layer::Reaper => self.reaper.is_some(),
            Layer::Nproc => self.nproc_uid.is_some(),
            Layer::Landlock => self.landlock,
            Layer::Seccomp => self.seccomp,
            #[cfg(target_os = "linux")]
            Layer::Cgroup => self.cgroup.is_some(),
            #[cfg(not(target_os = "linux"))]
            Layer::Cgroup => false,
        }
    }

    fn check_required(&self) -> Result<(), SandboxError> {
        if self.settings.network == Network::Deny && !self.seccomp {
            return Err(SandboxError::NetworkNeedsSeccomp(
                self.report.seccomp.clone(),
            ));
        }
        for &l in &self.settings.required {
            if !self.active(l) {
                let status = match self.status_of(l) {
                    s if s == "off" => "it is turned off".to_string(),
                    s if s == "process_group" => "unavailable".to_string(),
                    s => s,
                };
                return Err(SandboxError::Missing { layer: l, status });
            }
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn probe_layers(&mut self) {
        for l in Layer::ALL {
            if self.on(l) {
                let s = "unavailable: Linux only".to_string();
                match l {
                    Layer::Reaper => {}
                    Layer::Nproc => self.report.nproc = s,
                    Layer::Landlock => self.report.landlock.status = s,
                    Layer::Seccomp => self.report.seccomp = s,
                    Layer::Cgroup => self.report.cgroup = s,
                }
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn probe_layers(&mut self) {
        use super::linux;
        self.report.landlock.abi = linux::landlock_abi();
        if self.on(Layer::Nproc) {
            // SAFETY: getuid never fails.
            let uid = unsafe { libc::getuid() };
            if uid == 0 {
                self.report.nproc = "skipped: root".into();
            } else {
                self.nproc_uid = Some(uid);
                let count = self.user_tasks.clone();
                count.store(linux::count_user_tasks(uid), Ordering::Relaxed);
                let weak = std::sync::Arc::downgrade(&count);
                let _ = std::thread::Builder::new()
                    .name("nproc-count".into())
                    .spawn(move || loop {
                        std::thread::sleep(NPROC_REFRESH);
                        match weak.upgrade() {
                            Some(c) => c.store(linux::count_user_tasks(uid), Ordering::Relaxed),
                            None => return,
                        }
                    });
                self.report.nproc = format!(
                    "relative: {} tasks over the user's current count",
                    self.settings.limits.nproc_budget
                );
            }
        }
        if self.on(Layer::Cgroup) {
            self.report.cgroup = match linux::cgroup_probe() {
                Ok(base) => {
                    let status = cgroup_status(&base);
                    self.cgroup = Some(base);
                    status
                }
                Err(why) => format!("unavailable: {why}"),
            };
        }
        let want_ll = self.on(Layer::Landlock);
        let want_sc = self.on(Layer::Seccomp);
        let deny_net = self.settings.network == Network::Deny;
        if want_sc {
            match linux::seccomp_program(deny_net, &self.protect) {
                Ok(p) => self.bpf = Some(p),
                Err(e) => self.report.seccomp = format!("unavailable: {e}"),
            }
        }
        if want_ll && self.report.landlock.abi == 0 {
            self.report.landlock.status = "unavailable: the kernel has no Landlock".into();
        }

        // One run of the shim proves the binary can re-exec itself as the reaper, and its
        // child proves Landlock and seccomp are really enforced.
        let exe = self.settings.reaper_exe.clone().or_else(own_executable);
        let probe = match &exe {
            Some(exe) => super::reaper::probe(
                exe,
                &super::reaper::ProbeSpec {
                    landlock: want_ll && self.report.landlock.abi > 0,
                    seccomp: self.bpf.is_some(),
                    deny_network: deny_net,
                    writable: self.writable.clone(),
                },
            ),
            None => Err("cannot find this executable".into()),
        };
        let probe_direct = || {
            super::reaper::probe_in_process(
                want_ll && self.report.landlock.abi > 0,
                self.bpf.as_deref(),
                deny_net,
                &self.writable,
            )
        };
        let result = match probe {
            Ok(r) => {
                if self.on(Layer::Reaper) {
                    self.reaper = exe;
                    self.report.process_tree = "reaper".into();
                }
                r
            }
            Err(why) => {
                if self.on(Layer::Reaper) {
                    self.report.process_tree = format!("process_group (reaper unavailable: {why})");
                }
                probe_direct()
            }
        };
        if self.cgroup.is_some() && self.reaper.is_none() {
            // The per-command cgroup is created and ended by the shim.
            self.cgroup = None;
            self.report.cgroup = "off: it needs the reaper shim".into();
        }
        if want_ll && self.report.landlock.abi > 0 {
            match result.landlock {
                Ok(()) => {
                    self.landlock = true;
                    self.report.landlock.status = if self.report.landlock.abi >= 5 {
                        "enforced".into()
                    } else {
                        "partially enforced".into()
                    };
                }
                Err(e) => self.report.landlock.status = format!("unavailable: {e}"),
            }
        }
        if self.bpf.is_some() {
            match result.seccomp {
                Ok(()) => {
                    self.seccomp = true;
                    self.report.seccomp = "enforced".into();
                    if deny_net {
                        self.report.network = "denied".into();
                    }
                }
                Err(e) => {
                    self.bpf = None;
                    self.report.seccomp = format!("unavailable: {e}");
                }
            }
        }
    }

    /// The reaper shim binary, when that layer is active.
    pub fn reaper(&self) -> Option<&Path> {
        self.reaper.as_deref()
    }

    /// The processes a command may not signal: this server and its parent (the zygote is
    /// started with them).
    pub fn protect(&self) -> &[i32] {
        &self.protect
    }

    /// The writable directories with the identities they had at start.
    pub fn writable(&self) -> &[WritableDir] {
        &self.writable
    }

    /// What the child of one command must apply before `exec`: `workdir` is its working
    /// directory, `workdir_id` the identity it had when it was checked.
    pub fn child_spec(&self, workdir: &Path, workdir_id: DirId, timeout: Duration) -> ChildSpec {
        let l = &self.settings.limits;
        let mut rlimits = vec![
            (Resource::Core, 0),
            (Resource::Nofile, l.open_files),
            (Resource::Fsize, l.file_size),
            // A CPU backstop: the wall-clock timeout ends the command long before this.
            (Resource::Cpu, timeout.as_secs() + 5),
        ];
        #[cfg(target_os = "linux")]
        rlimits.push((Resource::Data, l.memory));
        if self.nproc_uid.is_some() {
            let now = self.user_tasks.load(Ordering::Relaxed);
            rlimits.push((Resource::Nproc, now + l.nproc_budget));
        }
        let mut writable = self.writable.clone();
        writable.push(WritableDir {
            path: workdir.to_path_buf(),
            id: workdir_id,
            workdir: true,
        });
        #[cfg(target_os = "linux")]
        let cgroup = self.cgroup.as_ref().map(|b| CgroupSpec {
            base: b.dir.clone(),
            pids_max: b.pids.then_some(l.nproc_budget),
            memory_max: b.memory.then_some(l.memory),
        });
        #[cfg(not(target_os = "linux"))]
        let cgroup = None;
        ChildSpec {
            rlimits,
            landlock: self.landlock.then_some(writable),
            workdir_id,
            seccomp: self.seccomp,
            deny_network: self.settings.network == Network::Deny,
            protect: self.protect.clone(),
            cgroup,
        }
    }

    /// The seccomp program, when that layer is active.
    #[cfg(target_os = "linux")]
    pub fn bpf(&self) -> Option<&[seccompiler::sock_filter]> {
        self.bpf.as_deref()
    }
}

/// A resource limit, named portably.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Core,
    Nofile,
    Fsize,
    Cpu,
    Data,
    Nproc,
}

impl Resource {
    /// The platform's `RLIMIT_*` number.
    #[cfg(unix)]
    pub fn raw(self) -> i32 {
        #[allow(clippy::unnecessary_cast)]
        let n = match self {
            Resource::Core => libc::RLIMIT_CORE,
            Resource::Nofile => libc::RLIMIT_NOFILE,
            Resource::Fsize => libc::RLIMIT_FSIZE,
            Resource::Cpu => libc::RLIMIT_CPU,
            Resource::Data => libc::RLIMIT_DATA,
            Resource::Nproc => libc::RLIMIT_NPROC,
        } as i32;
        n
    }
}

/// What one command's child applies before `exec`; sent to the reaper shim as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChildSpec {
    pub rlimits: Vec<(Resource, u64)>,
    /// Writable directories with their identities, the working directory last, when
    /// Landlock is on.
    pub landlock: Option<Vec<WritableDir>>,
    /// The identity of the working directory when the server checked it: the child
    /// compares its working directory with it after entering it, and does not run the
    /// command when they differ ([`WORKDIR_CHANGED`]).
    pub workdir_id: DirId,
    pub seccomp: bool,
    pub deny_network: bool,
    /// Processes the command may not signal: the server and its parent. Read only by the
    /// exec'd shim (the fallback when the zygote cannot run); the zygote gets the same pids
    /// once, as its `--protect=` argument ([`Sandbox::protect`]), and adds itself.
    #[serde(default)]
    pub protect: Vec<i32>,
    /// A cgroup of its own, when that layer is on.
    #[serde(default)]
    pub cgroup: Option<CgroupSpec>,
}

/// The per-command cgroup the shim creates under `base`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CgroupSpec {
    pub base: PathBuf,
    /// `pids.max`, when the pids controller is delegated.
    pub pids_max: Option<u64>,
    /// `memory.max`, when the memory controller is delegated.
    pub memory_max: Option<u64>,
}

#[cfg(target_os = "linux")]
fn cgroup_status(b: &super::linux::CgroupBase) -> String {
    let mut s = format!("enforced: cgroup.kill in {}", b.dir.display());
    for (on, file, ctl) in [
        (b.pids, "pids.max", "pids"),
        (b.memory, "memory.max", "memory"),
    ] {
        if on {
            s.push_str(&format!(", {file}"));
        } else {
            s.push_str(&format!(
                "; {file} unavailable ({ctl} controller not delegated)"
            ));
        }
    }
    s
}

/// `dirs` resolved, each with its identity now; those that cannot be resolved or are not
/// directories are left out (never writable).
fn writable_with_ids(dirs: &[PathBuf]) -> Vec<WritableDir> {
    let mut out: Vec<WritableDir> = Vec::with_capacity(dirs.len());
    for d in dirs {
        let Ok(real) = std::fs::canonicalize(d) else {
            continue;
        };
        let Ok(id) = DirId::of_real(&real) else {
            continue;
        };
        if !out.iter().any(|w| w.path == real) {
            out.push(WritableDir {
                path: real,
                id,
                workdir: false,
            });
        }
    }
    out
}

fn rlimit_text(l: &Limits) -> String {
    let mut s = format!(
        "core=0 nofile={} fsize={} cpu=timeout+5s",
        l.open_files, l.file_size
    );
    if cfg!(target_os = "linux") {
        s.push_str(&format!(" data={}", l.memory));
    }
    s
}

/// Makes this process non-dumpable (so same-user commands cannot read its memory or
/// `/proc/<pid>/environ`) and the subreaper of orphans; returns whether it is still dumpable.
fn harden_server() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain prctl calls on this process.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) != 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// The outcome of probing Landlock and seccomp in a child.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ProbeResult {
    pub landlock: Result<(), String>,
    pub seccomp: Result<(), String>,
}

/// The path that re-executes this very binary. On Linux `/proc/self/exe` names the running
/// file even when its path is no longer reachable (a tmpfs mounted over it in a read-only
/// container, or the file replaced during an upgrade); elsewhere the path it started from.
fn own_executable() -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        let p = PathBuf::from("/proc/self/exe");
        if p.exists() {
            return Some(p);
        }
    }
    std::env::current_exe().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_round_trip() {
        for l in Layer::ALL {
            assert_eq!(Layer::parse(l.name()), Some(l));
            assert_eq!(Layer::parse(&l.name().to_uppercase()), Some(l));
        }
        assert_eq!(Layer::parse("landlok"), None);
    }

    #[test]
    fn always_on_reports_every_optional_layer_off() {
        let sb = Sandbox::always_on(Limits::default());
        let r = serde_json::to_value(sb.report()).unwrap();
        assert_eq!(r["process_tree"], "process_group");
        assert_eq!(r["nproc"], "off");
        assert_eq!(r["seccomp"], "off");
        assert_eq!(r["landlock"]["status"], "off");
        assert_eq!(r["network"], "allowed");
        assert!(r["landlock"]["abi"].is_number());
        #[cfg(target_os = "linux")]
        assert_eq!(r["dumpable"], false);
    }

    #[test]
    fn child_spec_carries_limits_and_writable_dirs() {
        let sb = Sandbox::always_on(Limits {
            open_files: 99,
            file_size: 1234,
            memory: 5678,
            nproc_budget: 7,
        });
        let id = DirId { dev: 1, ino: 2 };
        let spec = sb.child_spec(Path::new("/work/here"), id, Duration::from_secs(10));
        assert_eq!(spec.workdir_id, id);
        assert!(spec.rlimits.contains(&(Resource::Core, 0)));
        assert!(spec.rlimits.contains(&(Resource::Nofile, 99)));
        assert!(spec.rlimits.contains(&(Resource::Fsize, 1234)));
        assert!(spec.rlimits.contains(&(Resource::Cpu, 15)));
        // Landlock is off here, so no writable list is sent.
        assert_eq!(spec.landlock, None);
        assert!(sb.settings().writable_dirs.contains(
            &std::fs::canonicalize(std::env::temp_dir()).unwrap_or_else(|_| std::env::temp_dir())
        ));
    }

    #[cfg(unix)]
    #[test]
    fn writable_dirs_are_resolved_with_their_identities_at_start() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(t.path()).unwrap();
        let link = real.join("link");
        std::fs::create_dir(real.join("d")).unwrap();
        std::os::unix::fs::symlink(real.join("d"), &link).unwrap();
        let w = writable_with_ids(&[link.clone(), real.join("missing"), real.join("d")]);
        // The link resolved to `d` (once); the missing one left out: never writable.
        let m = std::fs::metadata(real.join("d")).unwrap();
        assert_eq!(
            w,
            vec![WritableDir {
                path: real.join("d"),
                id: DirId {
                    dev: m.dev(),
                    ino: m.ino()
                },
                workdir: false,
            }]
        );
    }

    #[cfg(unix)]
    #[test]
    fn cwd_is_compares_the_working_directory_with_an_identity() {
        let here = DirId::of_path(Path::new(".")).unwrap();
        assert!(cwd_is(here));
        assert!(!cwd_is(DirId {
            dev: here.dev,
            ino: here.ino.wrapping_add(1)
        }));
    }

    #[test]
    fn a_required_but_disabled_layer_is_an_error() {
        let settings = SandboxSettings {
            disabled: [Layer::Seccomp].into_iter().collect(),
            required: [Layer::Seccomp].into_iter().collect(),
            ..SandboxSettings::default()
        };
        let err = Sandbox::new(settings).unwrap_err().to_string();
        assert!(
            err.contains("seccomp") && err.contains("turned off"),
            "{err}"
        );
    }
}
