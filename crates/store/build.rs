//! Embeds every `schemas/clickhouse/NNN_name.sql` migration in the binary, in order, so a new
//! file cannot be forgotten in a hand-kept list.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let schema_dir = Path::new(&manifest_dir).join("../../schemas/clickhouse");
    println!("cargo:rerun-if-changed={}", schema_dir.display());

    let mut migrations: Vec<(u32, String, String)> = fs::read_dir(&schema_dir)
        .expect("schemas/clickhouse exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sql"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let (number, name) = stem
                .split_once('_')
                .unwrap_or_else(|| panic!("migration {stem} is not named NNN_name.sql"));
            let version: u32 = number
                .parse()
                .unwrap_or_else(|_| panic!("migration {stem} does not start with a number"));
            (
                version,
                name.to_owned(),
                path.canonicalize().unwrap().display().to_string(),
            )
        })
        .collect();
    migrations.sort();
    for pair in migrations.windows(2) {
        assert_ne!(
            pair[0].0, pair[1].0,
            "two migrations share version {}",
            pair[0].0
        );
    }

    let mut source = String::from("&[\n");
    for (version, name, path) in &migrations {
        writeln!(
            source,
            "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({path:?}) }},"
        )
        .unwrap();
    }
    source.push_str("]\n");
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    fs::write(Path::new(&out_dir).join("migrations.rs"), source).unwrap();
}
