use axum::Json;
use serde_json::{Value, json};

/// `GET /xapi/about`: the xAPI versions this LRS speaks. Public, as the specification requires.
pub(crate) async fn about() -> Json<Value> {
    Json(json!({"version": ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"]}))
}
