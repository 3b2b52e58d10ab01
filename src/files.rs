//! Files: the one place where the crate opens, reads, writes and names
//! files. Every command of the tool and every writer of the library goes
//! through it.
//!
//! - **Inputs** ([`open_input`], [`read_text`]) are opened without
//!   blocking (a FIFO does not hang the open), checked on the opened handle
//!   to be regular files, and checked against a size limit before a byte is
//!   read. `-` reads standard input where a caller allows it
//!   ([`read_text`]), still within the limit.
//! - **Outputs** ([`AtomicFile`], [`TempPath`]) go to a temporary file in
//!   the target's directory, created exclusively under a unique name
//!   (`.NAME.PID.N.tmp`, retried with the next `N` when a stale file holds
//!   the name), flushed and synced, renamed over the target only when
//!   complete, then the directory is synced. A target that exists and is
//!   not a regular file (a device, a FIFO, a socket, a directory, or a link
//!   to one) is refused before any work; a link to a regular file is
//!   written through (the link stays, the file it names is replaced). On
//!   every error the temporary file is removed and the target is
//!   untouched; errors name the user's path, never the temporary file.
//! - **Interruption**: every temporary file is registered while it exists;
//!   [`remove_temp_files_then`] removes them all (the command-line tool
//!   calls it on SIGINT and SIGTERM before it exits). A process killed
//!   outright (`kill -9`, a crash, power loss) can leave one hidden
//!   `.NAME.PID.N.tmp` beside the target; the target itself is then either
//!   the old file or the complete new one, never a mix, and the next run
//!   succeeds whatever temporary files are left (it picks a free name).
//!   Such files can be deleted at any time when no writer runs.
//! - **Names**: [`escape`] and [`show`] print user text (tensor names,
//!   paths) with control characters escaped, so a name cannot move the
//!   cursor, clear a line or forge output.
//!
//! ```
//! use weight_init::files::{self, AtomicFile};
//! let dir = std::env::temp_dir().join(format!("wi-doc-files-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("out.bin");
//! let mut out = AtomicFile::create(&path).unwrap();
//! out.write(b"hello").unwrap();
//! out.commit().unwrap();
//! assert_eq!(files::read_text(&path, 100, "a note").unwrap(), "hello");
//! // Larger than the limit: refused before reading.
//! let err = files::read_text(&path, 4, "a note").unwrap_err();
//! assert!(err.to_string().contains("limit"), "{err}");
//! // Not a regular file: refused.
//! # #[cfg(unix)]
//! assert!(AtomicFile::create(std::path::Path::new("/dev/null")).is_err());
//! assert_eq!(files::escape("a\nb\x1b[2J"), "a\\nb\\u{1b}[2J");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};

/// Largest JSON parameter-set description (`init --spec`) read: 64 MiB.
///
/// ```
/// assert_eq!(weight_init::files::MAX_SPEC_BYTES, 64 * 1024 * 1024);
/// ```
pub const MAX_SPEC_BYTES: u64 = 64 << 20;

/// Largest safetensors header read (the format's own limit, as the
/// `safetensors` crate enforces it): 100 MB.
///
/// ```
/// assert_eq!(weight_init::files::MAX_SAFETENSORS_HEADER, 100_000_000);
/// ```
pub const MAX_SAFETENSORS_HEADER: u64 = 100_000_000;

/// How many names an output tries for its temporary file before giving up.
const TEMP_TRIES: u32 = 1000;

pub use crate::error::escape;

/// A path as the user should see it: lossy UTF-8, [`escape`]d.
///
/// ```
/// use std::path::Path;
/// use weight_init::files::show;
/// assert_eq!(show(Path::new("out/model.safetensors")), "out/model.safetensors");
/// assert_eq!(show(Path::new("bad\rname")), "bad\\rname");
/// ```
pub fn show(path: &Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: show(path),
        message: format!("{what}: {e}"),
    }
}

/// What kind of thing `ft` is, in words, for messages.
fn kind_of(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a file"
    }
}

/// Opens `path` for reading only if it is a regular file no larger than
/// `limit` bytes; returns the file and its size.
///
/// The open itself never blocks (on Unix it uses `O_NONBLOCK`, so a FIFO
/// with no writer does not hang it), and the check is made on the opened
/// handle, so the path cannot be swapped between check and read. `what`
/// names the input in the size error (e.g. `"a JSON spec"`).
///
/// Errors: [`Error::Io`] (missing, unreadable), [`Error::NotRegularFile`]
/// (a device, FIFO, socket, directory), [`Error::InputTooLarge`].
///
/// ```
/// use weight_init::{files, Error};
/// let path = std::env::temp_dir().join(format!("wi-doc-open-{}", std::process::id()));
/// std::fs::write(&path, b"12345").unwrap();
/// let (_file, size) = files::open_input(&path, 5, "a test input").unwrap();
/// assert_eq!(size, 5);
/// let err = files::open_input(&path, 4, "a test input").unwrap_err();
/// assert!(matches!(err, Error::InputTooLarge { size: 5, limit: 4, .. }));
/// let err = files::open_input(&std::env::temp_dir(), 5, "a test input").unwrap_err();
/// assert!(matches!(err, Error::NotRegularFile { .. }), "{err}");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn open_input(path: &Path, limit: u64, what: &'static str) -> Result<(File, u64)> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts
        .open(path)
        .map_err(|e| io_err(path, "cannot open", e))?;
    let meta = file
        .metadata()
        .map_err(|e| io_err(path, "cannot read metadata", e))?;
    if !meta.file_type().is_file() {
        return Err(Error::NotRegularFile {
            path: show(path),
            kind: kind_of(&meta.file_type()),
            action: "reads",
        });
    }
    #[cfg(unix)]
    {
        // Back to blocking reads (a no-op for regular files on Linux, but
        // not every system agrees).
        use std::os::unix::io::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns, with integer
        // arguments only.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    let size = meta.len();
    if size > limit {
        return Err(Error::InputTooLarge {
            path: show(path),
            what,
            size,
            limit,
        });
    }
    Ok((file, size))
}

/// Reads a UTF-8 text input of at most `limit` bytes: a regular file
/// ([`open_input`]), or standard input when `path` is `-`. A file that
/// grows past the limit while it is read is refused too.
///
/// ```
/// use weight_init::files;
/// let path = std::env::temp_dir().join(format!("wi-doc-text-{}", std::process::id()));
/// std::fs::write(&path, "{\"seed\": 1}").unwrap();
/// assert_eq!(files::read_text(&path, 64, "a JSON spec").unwrap(), "{\"seed\": 1}");
/// std::fs::write(&path, [0xff, 0xfe]).unwrap();
/// let err = files::read_text(&path, 64, "a JSON spec").unwrap_err();
/// assert!(err.to_string().contains("UTF-8"), "{err}");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_text(path: &Path, limit: u64, what: &'static str) -> Result<String> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_err(path, "cannot read", e))?;
    } else {
        let (file, size) = open_input(path, limit, what)?;
        bytes
            .try_reserve(size as usize)
            .map_err(|e| io_err(path, "cannot read", e))?;
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_err(path, "cannot read", e))?;
    }
    if bytes.len() as u64 > limit {
        return Err(Error::InputTooLarge {
            path: show(path),
            what,
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| Error::InvalidFile {
        path: show(path),
        reason: format!("not UTF-8 text: {}", e.utf8_error()),
    })
}

/// Where an output to `target` really goes: `target` itself when it does
/// not exist or is a regular file, the file a link names when it is a link
/// to a regular file. Refuses everything else, and a target whose
/// directory does not exist, before any work.
///
/// ```
/// use std::path::Path;
/// let err = weight_init::files::check_output(Path::new("/dev/null")).unwrap_err();
/// assert!(err.to_string().contains("not a regular file"), "{err}");
/// let err = weight_init::files::check_output(Path::new("/no/such/dir/x")).unwrap_err();
/// assert!(err.to_string().contains("does not exist"), "{err}");
/// ```
pub fn check_output(target: &Path) -> Result<PathBuf> {
    let refuse = |ft: &fs::FileType| Error::NotRegularFile {
        path: show(target),
        kind: kind_of(ft),
        action: "writes and replaces",
    };
    if target.file_name().is_none() || target.as_os_str().to_string_lossy().ends_with('/') {
        return Err(Error::Io {
            path: show(target),
            message: "not a file path".into(),
        });
    }
    let real = match fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_file() => target.to_path_buf(),
        Ok(m) if m.file_type().is_symlink() => {
            let meta = fs::metadata(target).map_err(|e| {
                io_err(target, "a link to a file that cannot be written through", e)
            })?;
            if !meta.file_type().is_file() {
                return Err(refuse(&meta.file_type()));
            }
            fs::canonicalize(target).map_err(|e| io_err(target, "cannot resolve the link", e))?
        }
        Ok(m) => return Err(refuse(&m.file_type())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => target.to_path_buf(),
        Err(e) => return Err(io_err(target, "cannot check", e)),
    };
    let dir = parent_dir(&real);
    match fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(real),
        Ok(_) => Err(Error::Io {
            path: show(target),
            message: format!("`{}` is not a directory", show(&dir)),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::Io {
            path: show(target),
            message: format!("the directory `{}` does not exist", show(&dir)),
        }),
        Err(e) => Err(io_err(target, "cannot check its directory", e)),
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The `N` of the next temporary name `.NAME.PID.N.tmp`.
static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Temporary files that exist now (created, not yet renamed or removed).
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temps() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes every temporary file the crate's writers have open in this
/// process, then runs `then` (typically `std::process::exit`) before any
/// writer can rename or create another one.
///
/// For signal handlers: the command-line tool calls it on SIGINT and
/// SIGTERM from a thread of its own, and exits with 130 or 143. It takes a
/// lock, so it must not be called from inside a raw signal handler.
/// Returns what `then` returns.
///
/// ```
/// use weight_init::files::{self, TempPath};
/// let target = std::env::temp_dir().join(format!("wi-doc-rm-{}.png", std::process::id()));
/// let temp = TempPath::create(&target, ".png").unwrap();
/// assert!(temp.path().exists());
/// let removed = files::remove_temp_files_then(|n| n); // a real handler would exit here
/// assert!(removed >= 1 && !temp.path().exists());
/// assert!(temp.persist().is_err()); // its file is gone: nothing is renamed
/// assert!(!target.exists());
/// ```
pub fn remove_temp_files_then<R>(then: impl FnOnce(usize) -> R) -> R {
    let mut list = temps();
    let mut removed = 0;
    for p in list.drain(..) {
        if fs::remove_file(&p).is_ok() {
            removed += 1;
        }
    }
    then(removed)
}

/// A registered temporary file beside a target, removed on drop unless
/// [`persist`](TempPath::persist)ed. For writers that fill a path
/// themselves (an image encoder); byte streams use [`AtomicFile`].
///
/// The file exists (empty) when [`TempPath::create`] returns, created
/// exclusively, so nothing else owns its name.
///
/// ```
/// use weight_init::files::TempPath;
/// let target = std::env::temp_dir().join(format!("wi-doc-temp-{}.png", std::process::id()));
/// let temp = TempPath::create(&target, ".png").unwrap();
/// let path = temp.path().to_path_buf();
/// drop(temp); // never persisted: removed, the target never created
/// assert!(!path.exists() && !target.exists());
/// ```
#[derive(Debug)]
pub struct TempPath {
    path: PathBuf,
    /// The user's path, for messages.
    target: PathBuf,
    /// Where the rename goes ([`check_output`]'s answer).
    real: PathBuf,
}

impl TempPath {
    /// Checks `target` ([`check_output`]) and creates an empty temporary
    /// file `.NAME.PID.N.tmp` (then `suffix`, e.g. `.png`) in its
    /// directory.
    ///
    /// ```
    /// use weight_init::files::TempPath;
    /// let target = std::env::temp_dir().join(format!("wi-doc-create-{}.png", std::process::id()));
    /// let temp = TempPath::create(&target, ".png").unwrap();
    /// assert!(temp.path().to_string_lossy().ends_with(".tmp.png"));
    /// assert_eq!(std::fs::metadata(temp.path()).unwrap().len(), 0);
    /// assert!(TempPath::create(std::path::Path::new("/no/such/dir/x.png"), ".png").is_err());
    /// ```
    pub fn create(target: &Path, suffix: &str) -> Result<Self> {
        Self::create_with(target, suffix).map(|(t, _)| t)
    }

    fn create_with(target: &Path, suffix: &str) -> Result<(Self, File)> {
        let real = check_output(target)?;
        let dir = parent_dir(&real);
        let name = real.file_name().expect("checked: a file path");
        let mut last = None;
        for _ in 0..TEMP_TRIES {
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut tmp = OsString::from(".");
            tmp.push(name);
            tmp.push(format!(".{}.{n}.tmp{suffix}", std::process::id()));
            let path = dir.join(tmp);
            // Created and registered under the lock, so a signal handler
            // in `remove_temp_files_then` sees every file that exists.
            let mut list = temps();
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    list.push(path.clone());
                    drop(list);
                    let t = TempPath {
                        path,
                        target: target.to_path_buf(),
                        real,
                    };
                    return Ok((t, file));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(io_err(target, "cannot create a file beside it", e)),
            }
        }
        Err(io_err(
            target,
            "no free temporary name beside it",
            last.map_or("".into(), |e| e.to_string()),
        ))
    }

    /// The temporary file's path.
    ///
    /// ```
    /// use weight_init::files::TempPath;
    /// let target = std::env::temp_dir().join(format!("wi-doc-path-{}.png", std::process::id()));
    /// let temp = TempPath::create(&target, ".png").unwrap();
    /// assert_eq!(temp.path().parent(), target.parent()); // beside the target
    /// assert!(temp.path().file_name().unwrap().to_string_lossy().starts_with(".wi-doc-path-"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temporary file over the target (checking once more that
    /// the target is not something other than a regular file), then syncs
    /// the directory. The file is synced first, whoever wrote it.
    ///
    /// ```
    /// use weight_init::files::TempPath;
    /// let target = std::env::temp_dir().join(format!("wi-doc-persist-{}.png", std::process::id()));
    /// let temp = TempPath::create(&target, ".png").unwrap();
    /// std::fs::write(temp.path(), b"image").unwrap(); // e.g. an image encoder
    /// temp.persist().unwrap();
    /// assert_eq!(std::fs::read(&target).unwrap(), b"image");
    /// std::fs::remove_file(&target).unwrap();
    /// ```
    pub fn persist(mut self) -> Result<()> {
        // Synced before the lock is taken: a signal handler waiting on it
        // is not held up by a long sync.
        File::open(&self.path)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_err(&self.target, "cannot write", e))?;
        let mut list = temps();
        // A signal handler may have removed the file already.
        let Some(i) = list.iter().position(|p| p == &self.path) else {
            return Err(io_err(&self.target, "cannot write", "interrupted"));
        };
        if let Ok(m) = fs::symlink_metadata(&self.real)
            && !m.file_type().is_file()
        {
            return Err(Error::NotRegularFile {
                path: show(&self.target),
                kind: kind_of(&m.file_type()),
                action: "writes and replaces",
            });
        }
        fs::rename(&self.path, &self.real).map_err(|e| io_err(&self.target, "cannot write", e))?;
        list.swap_remove(i);
        drop(list);
        self.path = PathBuf::new();
        sync_dir(&parent_dir(&self.real))
            .map_err(|e| io_err(&self.target, "cannot sync its directory", e))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let mut list = temps();
            if let Some(i) = list.iter().position(|p| p == &self.path) {
                list.swap_remove(i);
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        match File::open(dir).and_then(|d| d.sync_all()) {
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
            r => r,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A file written whole or not at all (see the [module docs](self)):
/// bytes go to a temporary file beside the target, and
/// [`commit`](AtomicFile::commit) flushes, syncs and renames it over the target.
/// Dropped without `commit` (an error, a panic), the temporary file is
/// removed and the target is untouched. Errors name the target, never the
/// temporary file.
///
/// ```
/// use weight_init::files::AtomicFile;
/// let target = std::env::temp_dir().join(format!("wi-doc-atomic-{}", std::process::id()));
/// std::fs::write(&target, b"old").unwrap();
/// let mut out = AtomicFile::create(&target).unwrap();
/// out.write(b"new").unwrap();
/// drop(out); // not committed: the target keeps its old bytes
/// assert_eq!(std::fs::read(&target).unwrap(), b"old");
/// std::fs::remove_file(&target).unwrap();
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    temp: TempPath,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Checks `target` ([`check_output`]: a regular file, a link to one,
    /// or a new name in an existing directory) and creates the temporary
    /// file.
    ///
    /// ```
    /// use weight_init::files::AtomicFile;
    /// let target = std::env::temp_dir().join(format!("wi-doc-acreate-{}", std::process::id()));
    /// let out = AtomicFile::create(&target).unwrap();
    /// assert!(!target.exists()); // nothing at the target until commit
    /// drop(out);
    /// assert!(AtomicFile::create(&std::env::temp_dir()).is_err()); // a directory
    /// ```
    pub fn create(target: &Path) -> Result<Self> {
        let (temp, file) = TempPath::create_with(target, "")?;
        Ok(Self {
            temp,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// Appends `bytes`.
    ///
    /// ```
    /// use weight_init::files::AtomicFile;
    /// let target = std::env::temp_dir().join(format!("wi-doc-write-{}", std::process::id()));
    /// let mut out = AtomicFile::create(&target).unwrap();
    /// out.write(b"ab").unwrap();
    /// out.write(b"cd").unwrap();
    /// out.commit().unwrap();
    /// assert_eq!(std::fs::read(&target).unwrap(), b"abcd");
    /// std::fs::remove_file(&target).unwrap();
    /// ```
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let target = &self.temp.target;
        self.file
            .as_mut()
            .expect("open until committed")
            .write_all(bytes)
            .map_err(|e| io_err(target, "cannot write", e))
    }

    /// Flushes and syncs the file, renames it over the target, syncs the
    /// directory.
    ///
    /// ```
    /// use weight_init::files::AtomicFile;
    /// let target = std::env::temp_dir().join(format!("wi-doc-commit-{}", std::process::id()));
    /// std::fs::write(&target, b"old").unwrap();
    /// let mut out = AtomicFile::create(&target).unwrap();
    /// out.write(b"replaced").unwrap();
    /// out.commit().unwrap();
    /// assert_eq!(std::fs::read(&target).unwrap(), b"replaced");
    /// std::fs::remove_file(&target).unwrap();
    /// ```
    pub fn commit(mut self) -> Result<()> {
        let target = self.temp.target.clone();
        let w = self.file.take().expect("open until committed");
        let f = w
            .into_inner()
            .map_err(|e| io_err(&target, "cannot write", e.error()))?;
        f.sync_all()
            .map_err(|e| io_err(&target, "cannot write", e))?;
        drop(f);
        self.temp.persist()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_only() {
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
        assert_eq!(escape("a\u{7f}b\u{85}"), "a\\u{7f}b\\u{85}");
        assert_eq!(escape("\r\n"), "\\r\\n");
    }

    #[test]
    fn stale_temp_names_are_skipped() {
        let dir = std::env::temp_dir().join(format!("wi-files-stale-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("t.bin");
        // Stale files (a killed run with the same PID) hold the next names
        // this process would pick.
        let next = COUNTER.load(std::sync::atomic::Ordering::Relaxed);
        for n in next..next + 5 {
            let p = dir.join(format!(".t.bin.{}.{n}.tmp", std::process::id()));
            fs::write(p, b"stale").unwrap();
        }
        let mut out = AtomicFile::create(&target).unwrap();
        out.write(b"new").unwrap();
        out.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }
}
