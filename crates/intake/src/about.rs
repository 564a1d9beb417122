use axum::Json;
use serde_json::{Value, json};

/// `GET /xapi/about`: the xAPI versions this LRS speaks. Public, as the specification requires.
#[utoipa::path(
    get,
    path = "/xapi/about",
    tag = learnstream_http::XAPI_TAG,
    operation_id = "xapi_about",
    summary = "The xAPI versions this LRS speaks",
    security(()),
    responses((status = 200, description = "The versions (xAPI About resource)", body = serde_json::Value,
        example = json!({"version": ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"]}))),
)]
pub(crate) async fn about() -> Json<Value> {
    Json(json!({"version": ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"]}))
}
