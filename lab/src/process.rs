//! Processes a test starts: output to a log file, SIGTERM then SIGKILL on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process a test started, with its output in a log file; killed (and reaped) on drop.
#[derive(Debug)]
pub struct Process {
    daemon: Daemon,
}

impl Process {
    /// Starts `program` with `args` and extra environment `env`, writing its output to `log`.
    pub fn spawn(
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<Process, String> {
        let mut daemon = Daemon {
            name: "process",
            program: program.to_path_buf(),
            args: args.to_vec(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            log: log.to_path_buf(),
            child: None,
        };
        daemon.spawn()?;
        Ok(Process { daemon })
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail()
    }

    /// Whether it has exited, and how.
    pub fn exited(&mut self) -> Option<String> {
        self.daemon.exited()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(child) = self.daemon.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.daemon.child = None;
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.daemon.stop();
    }
}

/// One process of the plane, with the arguments to start it again.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub(crate) name: &'static str,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) log: PathBuf,
    pub(crate) child: Option<Child>,
}

impl Daemon {
    pub(crate) fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process has exited (and so will never become ready).
    pub(crate) fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited with {status}", self.name)),
            _ => None,
        }
    }

    /// SIGTERM, then SIGKILL after a grace period; always reaps the child.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}
