//! The `#[repr(C)]` structs of `sys` have the header's layout, checked
//! against the C compiler (skipped when `cc` or the header is unavailable).

use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use slotq::sys;

fn include_dir() -> Option<PathBuf> {
    let header = std::env::var_os("SLOTQ_HEADER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include/slotq.h"));
    header
        .is_file()
        .then(|| header.parent().unwrap().to_path_buf())
}

const PROGRAM: &str = r#"
#include <stdio.h>
#include <stddef.h>
#include "slotq.h"
#define P(x) printf("%s=%zu\n", #x, (size_t)(x));
int main(void) {
  P(sizeof(slotq_str)) P(sizeof(slotq_kv)) P(offsetof(slotq_kv, value))
  P(sizeof(slotq_call)) P(offsetof(slotq_call, format)) P(offsetof(slotq_call, timeout))
  P(offsetof(slotq_call, idle_timeout)) P(offsetof(slotq_call, memory))
  P(offsetof(slotq_call, config)) P(offsetof(slotq_call, config_len))
  P(sizeof(slotq_key)) P(sizeof(slotq_stats)) P(offsetof(slotq_stats, latency_count))
  P(offsetof(slotq_stats, latencies))
  P(sizeof(slotq_slot_ops)) P(offsetof(slotq_slot_ops, close)) P(offsetof(slotq_slot_ops, error))
  P(offsetof(slotq_slot_ops, release)) P(offsetof(slotq_slot_ops, trigger))
  P(sizeof(slotq_policy)) P(offsetof(slotq_policy, fn)) P(offsetof(slotq_policy, arg))
  P(SLOTQ_DEFAULT_PING_NS) P(SLOTQ_LAUNCH_DELETED) P(SLOTQ_POLICY_CUSTOM)
  P(sizeof(slotq_status)) P(sizeof(slotq_state)) P(sizeof(slotq_token_state))
  P(SLOTQ_KEY_SIZE) P(SLOTQ_MAX_QUEUE_KEY) P(SLOTQ_STATE_COUNT) P(SLOTQ_VERSION_NUMBER)
  P(SLOTQ_TOKEN_DISCARDED) P(SLOTQ_WAITER) P(-SLOTQ_FOREVER) P(-SLOTQ_EINTERNAL)
  return 0;
}
"#;

#[test]
fn struct_layouts_match_the_c_compiler() {
    let Some(inc) = include_dir() else {
        println!("SKIP struct_layouts_match_the_c_compiler: slotq.h not found; set SLOTQ_HEADER");
        return;
    };
    let dir = std::env::temp_dir().join(format!("slotq-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (src, exe) = (dir.join("layout.c"), dir.join("layout"));
    std::fs::write(&src, PROGRAM).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(&cc)
        .arg("-I")
        .arg(&inc)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status();
    if !matches!(built, Ok(s) if s.success()) {
        println!("SKIP struct_layouts_match_the_c_compiler: cannot compile with {cc}");
        return;
    }
    let out = String::from_utf8(Command::new(&exe).output().unwrap().stdout).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let rust: Vec<(&str, usize)> = vec![
        ("sizeof(slotq_str)", size_of::<sys::slotq_str>()),
        ("sizeof(slotq_kv)", size_of::<sys::slotq_kv>()),
        (
            "offsetof(slotq_kv, value)",
            offset_of!(sys::slotq_kv, value),
        ),
        ("sizeof(slotq_call)", size_of::<sys::slotq_call>()),
        (
            "offsetof(slotq_call, format)",
            offset_of!(sys::slotq_call, format),
        ),
        (
            "offsetof(slotq_call, timeout)",
            offset_of!(sys::slotq_call, timeout),
        ),
        (
            "offsetof(slotq_call, idle_timeout)",
            offset_of!(sys::slotq_call, idle_timeout),
        ),
        (
            "offsetof(slotq_call, memory)",
            offset_of!(sys::slotq_call, memory),
        ),
        (
            "offsetof(slotq_call, config)",
            offset_of!(sys::slotq_call, config),
        ),
        (
            "offsetof(slotq_call, config_len)",
            offset_of!(sys::slotq_call, config_len),
        ),
        ("sizeof(slotq_key)", size_of::<sys::slotq_key>()),
        ("sizeof(slotq_stats)", size_of::<sys::slotq_stats>()),
        (
            "offsetof(slotq_stats, latency_count)",
            offset_of!(sys::slotq_stats, latency_count),
        ),
        (
            "offsetof(slotq_stats, latencies)",
            offset_of!(sys::slotq_stats, latencies),
        ),
        ("sizeof(slotq_slot_ops)", size_of::<sys::slotq_slot_ops>()),
        (
            "offsetof(slotq_slot_ops, close)",
            offset_of!(sys::slotq_slot_ops, close),
        ),
        (
            "offsetof(slotq_slot_ops, error)",
            offset_of!(sys::slotq_slot_ops, error),
        ),
        (
            "offsetof(slotq_slot_ops, release)",
            offset_of!(sys::slotq_slot_ops, release),
        ),
        (
            "offsetof(slotq_slot_ops, trigger)",
            offset_of!(sys::slotq_slot_ops, trigger),
        ),
        ("sizeof(slotq_policy)", size_of::<sys::slotq_policy>()),
        (
            "offsetof(slotq_policy, fn)",
            offset_of!(sys::slotq_policy, r#fn),
        ),
        (
            "offsetof(slotq_policy, arg)",
            offset_of!(sys::slotq_policy, arg),
        ),
        ("SLOTQ_DEFAULT_PING_NS", sys::SLOTQ_DEFAULT_PING_NS as usize),
        ("SLOTQ_LAUNCH_DELETED", sys::SLOTQ_LAUNCH_DELETED as usize),
        ("SLOTQ_POLICY_CUSTOM", sys::SLOTQ_POLICY_CUSTOM as usize),
        ("sizeof(slotq_status)", size_of::<sys::slotq_status>()),
        ("sizeof(slotq_state)", size_of::<sys::slotq_state>()),
        (
            "sizeof(slotq_token_state)",
            size_of::<sys::slotq_token_state>(),
        ),
        ("SLOTQ_KEY_SIZE", sys::SLOTQ_KEY_SIZE),
        ("SLOTQ_MAX_QUEUE_KEY", sys::SLOTQ_MAX_QUEUE_KEY),
        ("SLOTQ_STATE_COUNT", sys::SLOTQ_STATE_COUNT),
        ("SLOTQ_VERSION_NUMBER", sys::SLOTQ_VERSION_NUMBER as usize),
        ("SLOTQ_TOKEN_DISCARDED", sys::SLOTQ_TOKEN_DISCARDED as usize),
        ("SLOTQ_WAITER", sys::SLOTQ_WAITER as usize),
        ("-SLOTQ_FOREVER", (-sys::SLOTQ_FOREVER) as usize),
        ("-SLOTQ_EINTERNAL", (-sys::SLOTQ_EINTERNAL) as usize),
    ];
    for (name, value) in rust {
        let line = out
            .lines()
            .find(|l| l.split_once('=').map(|(k, _)| k) == Some(name))
            .unwrap_or_else(|| panic!("{name} not printed"));
        let c: usize = line.split_once('=').unwrap().1.parse().unwrap();
        assert_eq!(value, c, "{name}: Rust {value}, C {c}");
    }
}
