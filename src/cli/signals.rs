//! SIGINT and SIGTERM: remove the temporary files of the writes under way
//! (`weight_init::files`), then exit with 128 + the signal's number (130
//! for SIGINT, 143 for SIGTERM), as a shell reports a process killed by
//! it.
//!
//! The two signals are blocked in the main thread before any other thread
//! starts, so every thread inherits the mask and only one thread of ours,
//! waiting in `sigwait`, ever receives them: the clean-up runs as ordinary
//! code (it takes a lock), never inside a signal handler.

/// Installs the handling; call first thing in `main`, before any thread
/// is spawned. Does nothing where the signals cannot be blocked.
pub fn install() {
    #[cfg(unix)]
    // SAFETY: sigset and pthread_sigmask calls on a local, initialized set;
    // the waiting thread only calls sigwait on its own copy of the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || loop {
                let mut sig: libc::c_int = 0;
                if libc::sigwait(&set, &mut sig) == 0 {
                    weight_init::files::remove_temp_files_then(|_| {
                        // `_exit`: no atexit handlers (a GPU driver's may
                        // wait on threads this exit cuts short).
                        libc::_exit(128 + sig)
                    });
                }
            });
        if spawned.is_err() {
            // No waiter: unblock, so the signals keep their default action.
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}
