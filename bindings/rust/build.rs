//! Finds libslotq and tells rustc how to link it. No external crates.
//!
//! In order:
//! 1. `SLOTQ_LIB_DIR`: the directory holding `libslotq.so` (or `libslotq.a`
//!    with `SLOTQ_STATIC=1`). Nothing else is consulted.
//! 2. `pkg-config --libs --cflags slotq` (the command named by `PKG_CONFIG`,
//!    default `pkg-config`; `PKG_CONFIG_PATH` is honoured as usual), with
//!    `--static` when `SLOTQ_STATIC=1`.
//! 3. Otherwise a plain `-lslotq` on the default search path, with a warning.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    for var in [
        "SLOTQ_LIB_DIR",
        "SLOTQ_STATIC",
        "PKG_CONFIG",
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        "PKG_CONFIG_SYSROOT_DIR",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let static_link = env::var("SLOTQ_STATIC").map(|v| v == "1").unwrap_or(false);

    if let Some(dir) = env::var_os("SLOTQ_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = Path::new(&dir);
        println!("cargo:rustc-link-search=native={}", dir.display());
        if static_link {
            println!("cargo:rustc-link-lib=static=slotq");
            for lib in ["crypto", "stdc++", "pthread"] {
                println!("cargo:rustc-link-lib=dylib={lib}");
            }
        } else {
            println!("cargo:rustc-link-lib=dylib=slotq");
        }
        // For dependents (links = "slotq"): DEP_SLOTQ_LIB_DIR.
        println!("cargo:lib_dir={}", dir.display());
        return;
    }

    match pkg_config(static_link) {
        Ok(flags) => {
            let mut linked = false;
            for flag in flags.split_whitespace() {
                if let Some(dir) = flag.strip_prefix("-L") {
                    println!("cargo:rustc-link-search=native={dir}");
                    println!("cargo:lib_dir={dir}");
                } else if let Some(lib) = flag.strip_prefix("-l") {
                    if lib == "slotq" {
                        linked = true;
                        let kind = if static_link { "static" } else { "dylib" };
                        println!("cargo:rustc-link-lib={kind}=slotq");
                    } else {
                        println!("cargo:rustc-link-lib=dylib={lib}");
                    }
                } else if let Some(dir) = flag.strip_prefix("-I") {
                    println!("cargo:include={dir}");
                }
                // Other flags (-pthread, -D...) do not concern rustc.
            }
            if !linked {
                println!("cargo:rustc-link-lib=dylib=slotq");
            }
        }
        Err(why) => {
            println!(
                "cargo:warning=libslotq not found through pkg-config ({why}); \
                 linking -lslotq from the default search path. \
                 Set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig or SLOTQ_LIB_DIR=<prefix>/lib."
            );
            println!("cargo:rustc-link-lib=dylib=slotq");
        }
    }
}

/// The output of `pkg-config [--static] --libs --cflags slotq`.
fn pkg_config(static_link: bool) -> Result<String, String> {
    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let mut cmd = Command::new(&program);
    if static_link {
        cmd.arg("--static");
    }
    cmd.args(["--libs", "--cflags", "slotq"]);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}
