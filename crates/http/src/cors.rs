//! CORS, so that content running in browsers on other origins can call learnstream.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// CORS for `allowed_origins` (`*`: any): the methods learnstream serves, `Authorization` and
/// `Content-Type` and the resource's own `request_headers`, and the `response_headers` a client
/// must be able to read. Preflights are cached for a day.
pub fn cors_layer(
    allowed_origins: &[String],
    request_headers: &[HeaderName],
    response_headers: &[HeaderName],
) -> CorsLayer {
    let origins = if allowed_origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            allowed_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    let mut allowed = vec![header::AUTHORIZATION, header::CONTENT_TYPE];
    allowed.extend(request_headers.iter().cloned());
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT])
        .allow_headers(allowed)
        .expose_headers(response_headers.to_vec())
        .max_age(std::time::Duration::from_secs(24 * 60 * 60))
}
