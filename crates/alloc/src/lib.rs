//! The global allocator of `pi-server` and `pi-ceiling`: mimalloc (20–27 % faster than glibc's
//! malloc on the data routes of `cargo xtask bench api`), set to give memory back to the OS as
//! soon as a page of it is free.
//!
//! mimalloc's purge delay (1 s in v3) is not a timer: a thread purges its freed pages only when
//! it next calls into the allocator after the delay. HTTP workers and database threads that go
//! quiet after a burst therefore kept what the burst freed: 33–34 MiB idle after the bench's
//! setup traffic at `PLACES_SCALE=small`, against 28 MiB with a delay of 0, for no loss of
//! throughput in the bench (docs/OPERATIONS.md §6).

use std::sync::Once;

pub use mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its index in `mimalloc.h`'s `mi_option_e` (v2 and v3), which
/// `libmimalloc-sys` does not name.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The variables mimalloc itself reads for the purge delay (it compares names ignoring case).
const PURGE_DELAY_VARIABLES: [&str; 2] = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"];

/// Makes every thread return a freed page to the OS when it frees it, unless the operator set
/// the delay through mimalloc's own variables. Call first thing in `main`, before any other
/// thread starts; later calls do nothing.
pub fn purge_freed_memory_at_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let operator_set = std::env::vars_os().any(|(name, _)| {
            name.to_str().is_some_and(|name| {
                PURGE_DELAY_VARIABLES
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(name))
            })
        });
        if operator_set {
            return;
        }
        // SAFETY: `mi_option_set` takes no pointers and stores two integers in mimalloc's
        // option table without synchronisation; called once (`Once`), at the start of `main`
        // before the binary starts other threads, nothing reads them concurrently.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
    });
}

/// The purge delay in effect, in milliseconds (for tests and diagnostics).
pub fn purge_delay_ms() -> std::ffi::c_long {
    // SAFETY: `mi_option_get` takes no pointers and reads an integer from the option table.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_get(PURGE_DELAY)
    }
}
