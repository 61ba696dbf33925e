//! A folder of multi-document YAML manifests (`*.yaml`, `*.yml`), re-read when a file
//! changes. A broken file does not replace the last good set of objects.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Snapshot, Source};
use crate::Error;
use crate::config::Objects;

/// Reads a folder of manifests. [`ManifestSource::poll`] is synchronous and does the work;
/// [`ManifestSource::spawn`] runs it on a tokio interval and publishes [`Snapshot`]s.
#[derive(Debug)]
pub struct ManifestSource {
    dir: PathBuf,
    fingerprint: Option<Vec<(PathBuf, u64, Option<SystemTime>)>>,
    good: Option<Arc<Objects>>,
}

impl ManifestSource {
    /// A source over `dir` (nothing is read yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ManifestSource {
            dir: dir.into(),
            fingerprint: None,
            good: None,
        }
    }

    /// Reads every manifest of `dir` once, files in name order.
    pub fn load(dir: &Path) -> Result<Objects, Error> {
        let mut objects = Objects::default();
        for path in files(dir)? {
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            objects.parse_yaml(&text, &path.display().to_string())?;
        }
        Ok(objects)
    }

    /// The last set of objects that parsed.
    pub fn last_good(&self) -> Option<Arc<Objects>> {
        self.good.clone()
    }

    /// Re-reads the folder if a file was added, removed or changed (size or modification
    /// time) since the last call. `Ok(Some(_))`: new objects; `Ok(None)`: nothing changed;
    /// `Err(_)`: the folder changed but does not parse — [`ManifestSource::last_good`] keeps
    /// the previous objects, and the same broken state is not reported again.
    pub fn poll(&mut self) -> Result<Option<Arc<Objects>>, Error> {
        let fingerprint = fingerprint(&self.dir)?;
        if self.fingerprint.as_ref() == Some(&fingerprint) {
            return Ok(None);
        }
        self.fingerprint = Some(fingerprint);
        let objects = Arc::new(Self::load(&self.dir)?);
        self.good = Some(objects.clone());
        Ok(Some(objects))
    }

    /// Polls every `interval` on the current tokio runtime and publishes each new set of
    /// objects; parse errors are logged and the last good set stays published.
    pub fn spawn(mut self, interval: Duration) -> ManifestWatch {
        let (tx, rx) = watch::channel(Snapshot::default());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut generation = 0;
            loop {
                tick.tick().await;
                match self.poll() {
                    Ok(Some(objects)) => {
                        generation += 1;
                        if tx
                            .send(Snapshot {
                                generation,
                                objects,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "manifests not reloaded, keeping the last good set")
                    }
                }
                if tx.is_closed() {
                    return;
                }
            }
        });
        ManifestWatch { rx, task }
    }
}

/// A running [`ManifestSource`]; dropping it stops the polling.
#[derive(Debug)]
pub struct ManifestWatch {
    rx: watch::Receiver<Snapshot>,
    task: JoinHandle<()>,
}

impl Source for ManifestWatch {
    fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.rx.clone()
    }
}

impl Drop for ManifestWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml");
        if yaml && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn fingerprint(dir: &Path) -> Result<Vec<(PathBuf, u64, Option<SystemTime>)>, Error> {
    files(dir)?
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            Ok((path, meta.len(), meta.modified().ok()))
        })
        .collect()
}
