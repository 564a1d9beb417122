//! The metrics every HTTP resource of learnstream has, named and described in one place.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

const HTTP_REQUESTS: &str = "learnstream_http_requests_total";
const HTTP_REQUEST_SECONDS: &str = "learnstream_http_request_duration_seconds";

/// Registers the descriptions of the HTTP metrics with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route and status"
    );
    metrics::describe_histogram!(
        HTTP_REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "time to answer an HTTP request, by method and route"
    );
}

/// Counts and times every request, labelled by its route template rather than its raw path.
/// (`axum::middleware::from_fn(track_http)`, as a route layer so the route is matched.)
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_REQUEST_SECONDS, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
