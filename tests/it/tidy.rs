//! Architecture rules that must not rot, checked on every test run.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Lines that are code, not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.starts_with("//"))
}

#[test]
fn core_does_no_io_and_reads_no_clock() {
    let forbidden = [
        "tokio",
        "sled",
        "serenity",
        "lettre",
        "async_imap",
        "Utc::now",
        "Local::now",
        "SystemTime",
        "std::fs",
        "std::net",
        "Instant::now",
    ];
    for file in rust_files(&src().join("core")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in code_lines(&text) {
            for word in forbidden {
                assert!(
                    !line.contains(word),
                    "{} uses {word}: the core must stay pure (`{line}`)",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn foreign_types_stop_at_their_adapter() {
    // crate → the only folder allowed to use it
    let owners = [
        ("sled", "store"),
        ("async_imap", "channels"),
        ("lettre", "channels"),
        ("serenity", "channels"),
    ];
    for file in rust_files(&src()) {
        let rel = file
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for (krate, owner) in owners {
            if rel.starts_with(owner) {
                continue;
            }
            for line in code_lines(&text) {
                let uses =
                    line.contains(&format!("{krate}::")) || line.contains(&format!("use {krate}"));
                assert!(
                    !uses,
                    "{rel} uses {krate}; only src/{owner}/ may (`{line}`)"
                );
            }
        }
    }
}

#[test]
fn every_module_says_what_it_owns() {
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let tests_only = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("_tests.rs"));
        assert!(
            text.starts_with("//!") || tests_only,
            "{} must start with a //! line",
            file.display()
        );
    }
}
