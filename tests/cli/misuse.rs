//! Issue 14, "no silent misuse": no stray errors on success (the display-selection Vulkan layer
//! on a headless machine), memory checked before allocating, too few resamples flagged, the real
//! cause of a statistic undefined in every resample, and `--format`/`--backend` on every command.

use super::*;

/// A GPU run on a machine without a display session (`XDG_RUNTIME_DIR` unset) prints no
/// `XDG_RUNTIME_DIR` error: the binary keeps Mesa's device-select layer out of its Vulkan
/// instance (`NODEVICE_SELECT=1`). Whether or not an adapter is found (lavapipe is in CI), the
/// only thing on stderr may be ceteris's own messages.
#[test]
fn a_gpu_run_on_a_headless_machine_prints_no_display_errors() {
    let dir = TempDir::new("headless");
    let data = standard_csv(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_ceteris"))
        .args([
            "bootstrap",
            "--data",
            data.to_str().unwrap(),
            "--column",
            "x",
            "--resamples",
            "50",
            "--backend",
            "gpu",
        ])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .env_remove("CETERIS_BACKEND")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the ceteris binary");
    let err = text(&out.stderr);
    assert!(!err.contains("XDG_RUNTIME_DIR"), "stderr:\n{err}");
    assert!(!err.contains("panicked"), "stderr:\n{err}");
    if out.status.success() {
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert!(v["backend"].as_str().unwrap().starts_with("gpu"), "{v}");
        assert!(err.trim().is_empty(), "a successful run printed:\n{err}");
    } else {
        // no adapter on this machine: ceteris's own error, nothing else
        assert!(err.starts_with("error: "), "{err}");
    }
}
