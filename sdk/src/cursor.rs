//! Where a [`crate::Bot`] remembers the last event it handled, so a restart
//! resumes instead of answering history again or missing what happened while
//! it was down.

use futures_util::future::BoxFuture;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Loads and saves the bot's cursor (an opaque `cur_...` string).
///
/// Methods return boxed futures so the trait stays object-safe; implement
/// them with `Box::pin(async move { ... })`. A store backed by something
/// other than files can wrap its errors with [`io::Error::other`].
pub trait CursorStore: Send + Sync {
    /// The stored cursor, or `None` when nothing was stored yet.
    fn load(&self) -> BoxFuture<'_, io::Result<Option<String>>>;

    /// Replaces the stored cursor. Should be atomic: after a crash the store
    /// holds either the old or the new cursor, never a torn one.
    fn save<'a>(&'a self, cursor: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// Keeps the cursor in one small text file. Each save writes a temporary file
/// next to it, syncs it and renames it over the old one, so a crash never
/// leaves a partial cursor behind.
#[derive(Debug, Clone)]
pub struct FileCursorStore {
    path: PathBuf,
}

impl FileCursorStore {
    pub fn new(path: impl Into<PathBuf>) -> FileCursorStore {
        FileCursorStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl CursorStore for FileCursorStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || read_cursor(&path))
                .await
                .map_err(io::Error::other)?
        })
    }

    fn save<'a>(&'a self, cursor: &'a str) -> BoxFuture<'a, io::Result<()>> {
        let path = self.path.clone();
        let cursor = cursor.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || write_atomically(&path, &cursor))
                .await
                .map_err(io::Error::other)?
        })
    }
}

fn read_cursor(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let cursor = text.trim();
            Ok((!cursor.is_empty()).then(|| cursor.to_owned()))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

fn write_atomically(path: &Path, cursor: &str) -> io::Result<()> {
    use std::io::Write;

    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the cursor path names no file"))?
        .to_string_lossy();
    // Same directory, so the rename stays on one filesystem (and is atomic);
    // a unique name, so concurrent writers never share a temporary file.
    let temporary = dir.join(format!(
        ".{name}.tmp-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(cursor.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    // Make the rename itself durable. Best effort: not every platform lets
    // a directory be opened and synced.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Keeps the cursor in memory: for tests, and for bots that should always
/// start from the tail. Clones share the same cursor.
#[derive(Debug, Clone, Default)]
pub struct MemoryCursorStore {
    cursor: Arc<Mutex<Option<String>>>,
}

impl MemoryCursorStore {
    pub fn new() -> MemoryCursorStore {
        MemoryCursorStore::default()
    }

    /// A store that already holds `cursor`.
    pub fn with_cursor(cursor: impl Into<String>) -> MemoryCursorStore {
        MemoryCursorStore {
            cursor: Arc::new(Mutex::new(Some(cursor.into()))),
        }
    }

    /// The cursor saved last.
    pub fn get(&self) -> Option<String> {
        self.cursor.lock().expect("cursor lock").clone()
    }
}

impl CursorStore for MemoryCursorStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        let cursor = self.get();
        Box::pin(async move { Ok(cursor) })
    }

    fn save<'a>(&'a self, cursor: &'a str) -> BoxFuture<'a, io::Result<()>> {
        *self.cursor.lock().expect("cursor lock") = Some(cursor.to_owned());
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "clickclack-sdk-test-{}-{:016x}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn entries(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[tokio::test]
    async fn file_store_round_trips_and_leaves_no_temporary_files() {
        let dir = TempDir::new();
        let store = FileCursorStore::new(dir.0.join("cursor"));
        assert_eq!(store.load().await.unwrap(), None, "no file yet");

        store.save("cur_0001").await.unwrap();
        assert_eq!(store.load().await.unwrap().as_deref(), Some("cur_0001"));
        store.save("cur_0002").await.unwrap();
        assert_eq!(store.load().await.unwrap().as_deref(), Some("cur_0002"));
        assert_eq!(dir.entries(), ["cursor"], "only the cursor file remains");

        // A second store on the same file (a restarted bot) sees the cursor.
        let reopened = FileCursorStore::new(dir.0.join("cursor"));
        assert_eq!(reopened.load().await.unwrap().as_deref(), Some("cur_0002"));
    }

    #[tokio::test]
    async fn file_store_trims_and_treats_an_empty_file_as_no_cursor() {
        let dir = TempDir::new();
        let path = dir.0.join("cursor");
        std::fs::write(&path, "  cur_0009 \n").unwrap();
        let store = FileCursorStore::new(&path);
        assert_eq!(store.load().await.unwrap().as_deref(), Some("cur_0009"));
        std::fs::write(&path, "\n").unwrap();
        assert_eq!(store.load().await.unwrap(), None);
    }

    #[tokio::test]
    async fn file_store_errors_leave_the_old_cursor_alone() {
        let dir = TempDir::new();
        let missing_dir = FileCursorStore::new(dir.0.join("nope").join("cursor"));
        assert!(missing_dir.save("cur_1").await.is_err());

        // The rename fails when the target is a directory: the temporary
        // file is cleaned up.
        let target = dir.0.join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), "x").unwrap();
        assert!(FileCursorStore::new(&target).save("cur_1").await.is_err());
        assert_eq!(dir.entries(), ["taken"]);
    }

    #[tokio::test]
    async fn many_concurrent_saves_never_tear_the_file() {
        let dir = TempDir::new();
        let store = Arc::new(FileCursorStore::new(dir.0.join("cursor")));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.save(&format!("cur_{i:04}")).await.unwrap();
                let loaded = store.load().await.unwrap().unwrap();
                assert!(loaded.starts_with("cur_") && loaded.len() == 8, "{loaded}");
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(dir.entries(), ["cursor"]);
    }

    #[tokio::test]
    async fn memory_store_clones_share_the_cursor() {
        let store = MemoryCursorStore::new();
        let clone = store.clone();
        assert_eq!(store.load().await.unwrap(), None);
        clone.save("cur_7").await.unwrap();
        assert_eq!(store.get().as_deref(), Some("cur_7"));
        assert_eq!(
            MemoryCursorStore::with_cursor("cur_1")
                .load()
                .await
                .unwrap()
                .as_deref(),
            Some("cur_1")
        );
    }
}
