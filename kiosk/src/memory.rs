//! How the terminal's memory allocator gives memory back. The runtime's large blocks are
//! short-lived: Argon2's 19 MiB when a technician's PIN is checked, pictures decoded and
//! encoded during a face capture. glibc's allocator, left to itself, (1) raises its
//! threshold for "big enough to map on its own" to the largest block freed so far, so
//! after the first PIN check the next 19 MiB come from a heap arena and stay there, and
//! (2) gives each thread that contends for the allocator an arena of its own (up to 8 per
//! core), each keeping what it once held. Measured on `kiosk-simulate` with its window
//! after the demo citizen (docs/performance.md, 2026-12-05): 139-145 MiB resident as it
//! was, 114-117 MiB with two arenas, 79 MiB with two arenas and a fixed 4 MiB threshold.

/// Blocks of this size and more are mapped on their own and unmapped when freed. Above a
/// 1280x720 camera frame (2.7 MiB), so the 30 fps preview path reuses heap memory instead
/// of mapping and faulting in every frame; below Argon2's 19 MiB.
pub const MMAP_THRESHOLD: usize = 4 << 20;

/// Heap arenas for all threads together: the runtime has two tokio workers, the UI thread
/// and a few device threads, none allocating hard enough for contention to matter.
pub const ARENA_MAX: usize = 2;

/// Applies [`MMAP_THRESHOLD`] and [`ARENA_MAX`]. Call first thing in `main`, before any
/// thread starts (arenas made before keep existing). True when the allocator took both;
/// false where the C library is not glibc (nothing to tune there).
pub fn tune_allocator() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = |param: libc::c_int, value: usize| {
            let Ok(value) = libc::c_int::try_from(value) else { return false };
            // SAFETY: mallopt only changes the allocator's parameters; it takes two plain
            // integers and touches no memory of ours.
            #[allow(unsafe_code)]
            let accepted = unsafe { libc::mallopt(param, value) };
            accepted == 1
        };
        set(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) & set(libc::M_ARENA_MAX, ARENA_MAX)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

/// This process's resident memory in bytes (`VmRSS` of `/proc/self/status`), for logs
/// and tests.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// A technician's PIN checked twice: without the fixed threshold the second check's
    /// 19 MiB would come from a heap arena and stay resident (the first free raises the
    /// threshold to 19 MiB). With it, both are given back.
    #[test]
    fn argon2s_memory_is_given_back_after_every_pin_check() {
        assert!(tune_allocator());
        let hash = crate::config::hash_pin("246810").unwrap_or_default();
        assert!(crate::config::pin_matches("246810", &hash));
        let before = resident_bytes().unwrap_or(0);
        for _ in 0..2 {
            assert!(!crate::config::pin_matches("135790", &hash));
        }
        let after = resident_bytes().unwrap_or(u64::MAX);
        let grew = after.saturating_sub(before);
        assert!(grew < 8 << 20, "resident memory grew by {} KiB after two PIN checks", grew >> 10);
    }

    #[test]
    fn the_resident_size_is_read() {
        let rss = resident_bytes().unwrap_or(0);
        assert!(rss > 1 << 20 && rss < 4 << 30, "{rss}");
    }
}
