//! What `purge_freed_memory_at_once` is for, seen from `/proc`: memory a thread freed leaves the
//! process while that thread idles. (Run without `MIMALLOC_PURGE_DELAY` in the environment:
//! the operator's setting wins.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: pi_alloc::MiMalloc = pi_alloc::MiMalloc;

#[cfg(target_os = "linux")]
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn memory_a_thread_freed_leaves_the_process_while_the_thread_idles() {
    pi_alloc::purge_freed_memory_at_once();
    assert_eq!(pi_alloc::purge_delay_ms(), 0);

    let before = resident_kib();
    let (freed_tx, freed_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        // 64 MiB in 1 KiB blocks, written, then freed; the thread then waits without allocating.
        let blocks: Vec<Vec<u8>> = (0..65_536).map(|i| vec![(i % 251) as u8; 1024]).collect();
        let held = blocks.iter().map(Vec::len).sum::<usize>();
        drop(blocks);
        freed_tx.send(held).unwrap();
        let _ = stop_rx.recv();
    });
    assert_eq!(freed_rx.recv().unwrap(), 64 << 20);
    // Returned at once: polled for up to 2 s rather than slept on.
    let mut grown_mib = u64::MAX;
    for _ in 0..100 {
        grown_mib = resident_kib().saturating_sub(before) / 1024;
        if grown_mib < 16 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop_tx.send(()).unwrap();
    worker.join().unwrap();
    assert!(
        grown_mib < 16,
        "64 MiB freed by an idle thread: resident memory still {grown_mib} MiB above the start"
    );
}
