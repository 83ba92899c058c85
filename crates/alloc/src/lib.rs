//! The global allocator of `pi-server` and `pi-ceiling`: mimalloc (faster than glibc's malloc
//! on every route of `cargo xtask bench api`), set to give memory back to the OS as soon as a
//! page of it is free.
//!
//! mimalloc's purge delay (1 s in v3) is not a timer: a thread purges its freed pages only when
//! it next calls into the allocator after the delay. HTTP workers and database threads that go
//! quiet after a burst therefore kept what the burst freed: 33–34 MiB idle after the bench's
//! setup traffic at `PLACES_SCALE=small`, against 28 MiB with a delay of 0, for no loss of
//! throughput in the bench (docs/OPERATIONS.md §6).

pub use mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, v3; `libmimalloc-sys` names it only for v2).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes every thread return a freed page to the OS when it frees it, unless the operator set
/// `MIMALLOC_PURGE_DELAY` (mimalloc reads it itself). Call first thing in `main`.
pub fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; it takes no
    // pointers and may be called at any time from any thread.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

/// The purge delay in effect, in milliseconds.
pub fn purge_delay_ms() -> std::ffi::c_long {
    // SAFETY: `mi_option_get` reads an integer from mimalloc's option table.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_get(PURGE_DELAY)
    }
}
