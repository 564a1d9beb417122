//! Reading a request's `Content-Type`: statements arrive as JSON, as `multipart/mixed` with
//! attachments, or (the 1.0.3 alternate syntax) as a form; imports of the district API as CSV.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;

/// The `Content-Type` header, or empty when absent or not text.
pub fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// Whether a `Content-Type` value names `media_type`, parameters aside and in any case.
pub fn is_media_type(content_type: &str, media_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|named| named.trim().eq_ignore_ascii_case(media_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_case_do_not_count() {
        assert!(is_media_type(
            "Application/JSON; charset=utf-8",
            "application/json"
        ));
        assert!(is_media_type(
            " multipart/mixed ;boundary=x",
            "multipart/mixed"
        ));
        assert!(!is_media_type("application/jsonx", "application/json"));
        assert!(!is_media_type("", "application/json"));
    }
}
