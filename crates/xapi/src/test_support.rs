//! Helpers shared by the crate's unit tests.

use serde_json::{Value, json};

/// Sets `value` at the object path `keys` inside `statement`, creating missing parents.
pub(crate) fn set_at(statement: &mut Value, keys: &[&str], value: Value) {
    let (last, parents) = keys.split_last().expect("at least one key");
    let mut cursor = statement;
    for key in parents {
        cursor = cursor
            .as_object_mut()
            .expect("every parent is an object")
            .entry(key.to_string())
            .or_insert_with(|| json!({}));
    }
    cursor
        .as_object_mut()
        .expect("the parent is an object")
        .insert(last.to_string(), value);
}
