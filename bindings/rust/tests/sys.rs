//! The raw layer agrees with the loaded library and with its header.

use std::collections::BTreeSet;
use std::path::PathBuf;

use slotq::{sys, Error, ErrorKind};

#[test]
fn version_matches_the_header() {
    assert_eq!(
        slotq::version() / 10000,
        sys::SLOTQ_VERSION_MAJOR,
        "ABI major"
    );
    assert!(
        slotq::version() >= sys::SLOTQ_VERSION_NUMBER,
        "library older than the binding"
    );
    let v = slotq::version();
    assert_eq!(
        slotq::version_string(),
        format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
    );
}

#[test]
fn status_table_matches_the_library() {
    for (code, name) in sys::SLOTQ_STATUS_TABLE {
        let e = Error::from_code(code);
        assert_eq!(e.name(), name);
        assert_eq!(e.code(), code);
        if code != sys::SLOTQ_OK {
            assert_ne!(e.kind(), ErrorKind::Unknown, "{name}");
        }
        assert!(!e.message().is_empty());
    }
    let e = Error::from_code(sys::SLOTQ_ETIMEDOUT);
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert_eq!(e.message(), "timed out");
    assert_eq!(e.to_string(), "timed out (SLOTQ_ETIMEDOUT)");
    let unknown = Error::from_code(-999);
    assert_eq!(
        (unknown.kind(), unknown.message(), unknown.name()),
        (ErrorKind::Unknown, "unknown status", "SLOTQ_UNKNOWN")
    );
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    assert!(boxed.to_string().contains("timed out"));
}

/// The header to compare with: `SLOTQ_HEADER`, or the project's own.
fn header() -> Option<(PathBuf, String)> {
    let path = std::env::var_os("SLOTQ_HEADER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include/slotq.h"));
    std::fs::read_to_string(&path).ok().map(|t| (path, t))
}

#[test]
fn every_header_function_is_declared() {
    let Some((path, text)) = header() else {
        println!("SKIP every_header_function_is_declared: slotq.h not found; set SLOTQ_HEADER");
        return;
    };
    let mut in_header = BTreeSet::new();
    for decl in text.split("SLOTQ_API").skip(1) {
        // "<type> [*]slotq_name(" up to the parenthesis.
        let head = decl.split('(').next().unwrap_or("");
        if let Some(name) = head
            .split(|c: char| c.is_whitespace() || c == '*')
            .rfind(|w| w.starts_with("slotq_"))
        {
            in_header.insert(name.to_string());
        }
    }
    assert!(
        in_header.len() > 50,
        "parsed only {} functions from {}",
        in_header.len(),
        path.display()
    );
    let sys_rs = include_str!("../src/sys.rs");
    let declared: BTreeSet<String> = sys_rs
        .split("pub fn ")
        .skip(1)
        .map(|s| s.split('(').next().unwrap().trim().to_string())
        .collect();
    let missing: Vec<_> = in_header.difference(&declared).collect();
    let extra: Vec<_> = declared.difference(&in_header).collect();
    assert!(
        missing.is_empty(),
        "declared in {} but not in src/sys.rs: {missing:?}",
        path.display()
    );
    assert!(
        extra.is_empty(),
        "declared in src/sys.rs but not in {}: {extra:?}",
        path.display()
    );
}
