//! glibc malloc settings for the batch commands (everything but `arena serve`): freed memory
//! stays in the process for the next allocation instead of going back to the kernel.
//!
//! By default glibc serves large blocks with fresh `mmap`s and returns freed heap tops to the
//! kernel, so a command that allocates and frees big matrices over and over (reading an .h5ad,
//! one batch of cells after another in `pearson_edistance`) pays a page fault and a kernel
//! page-clear for every page, every time. On the VCC-scale benchmark (`bench/score_vs_cell_eval.sh`)
//! these settings took `arena score` from 14 s to 5 s of system time and the read phase from
//! 6.6 s to 1.3 s. The peak memory is unchanged: only memory already freed is kept. The web
//! server keeps glibc's defaults (it runs for weeks and should give memory back).

/// Blocks up to 32 MiB (glibc's largest allowed threshold) come from the heap, and up to 2 GiB
/// of free heap top is kept instead of being trimmed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() {
    // SAFETY: mallopt only changes the allocator's parameters; it is called at the start of the
    // command, before any other thread exists. A refused setting (return value 0) leaves glibc's
    // default, which is correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() {}
