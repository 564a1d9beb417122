//! The layer rule of `ARCHITECTURE.md`, checked against the workspace as Cargo sees it: every
//! crate of the workspace is in the table, and each depends (normal, build and dev
//! dependencies alike) only on crates of lower layers.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The layer of each crate, from the table of `ARCHITECTURE.md` (`| layer | crates |`).
fn layers(architecture: &str) -> BTreeMap<String, u32> {
    let mut layers = BTreeMap::new();
    for line in architecture.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        let [layer, crates] = cells.as_slice() else {
            continue;
        };
        let Ok(layer) = layer.trim().parse::<u32>() else {
            continue;
        };
        for name in crates.split(',') {
            layers.insert(name.trim().to_owned(), layer);
        }
    }
    layers
}

#[test]
fn no_crate_depends_on_a_crate_of_its_own_layer_or_above() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let layers = layers(&std::fs::read_to_string(root.join("ARCHITECTURE.md"))?);
    assert!(layers.len() >= 5, "the layer table was read: {layers:?}");
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()?;
    assert!(output.status.success(), "cargo metadata: {output:?}");
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let packages = metadata["packages"].as_array().expect("packages");
    let mut broken = Vec::new();
    for package in packages {
        let name = package["name"].as_str().expect("a name");
        let Some(&layer) = layers.get(name) else {
            broken.push(format!("{name} is in no layer of ARCHITECTURE.md"));
            continue;
        };
        for dependency in package["dependencies"].as_array().expect("dependencies") {
            let dependency = dependency["name"].as_str().expect("a name");
            if let Some(&below) = layers.get(dependency)
                && below >= layer
            {
                broken.push(format!(
                    "{name} (layer {layer}) depends on {dependency} (layer {below})"
                ));
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
    Ok(())
}

#[test]
fn the_table_is_read_as_written() {
    let table = "| layer | crates |\n|---|---|\n| 0 | a |\n| 1 | b, c |\n";
    let read = layers(table);
    assert_eq!(read.len(), 3);
    assert_eq!(read["a"], 0);
    assert_eq!(read["c"], 1);
}

/// The tests run the product as it is built: no test-only dependency may switch on
/// `serde_json/preserve_order` (as `oas3`'s default features do), which would make every JSON
/// object of the product an insertion-ordered map in the tests only.
#[test]
fn json_objects_are_the_products_sorted_maps_in_the_tests_too() {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"b": 1, "a": 2}"#).unwrap();
    assert_eq!(object.keys().next().map(String::as_str), Some("a"));
}
