//! The alternate request syntax of xAPI 1.0.3 (Communication 1.3): a `POST` whose only query
//! parameter is `method` carries another request as an HTML form. The form's `Authorization`,
//! `X-Experience-API-Version`, `Content-Type`, `Content-Length`, `If-Match` and `If-None-Match`
//! fields are that request's headers, `content` is its body, and every other field is one of
//! its query parameters. Clients behind proxies that allow only GET and POST use it. xAPI 2.0
//! dropped it: a request that names 2.0 is refused.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use learnstream_xapi::XapiVersion;

use crate::read;
use crate::state::AppState;
use crate::statements;
use learnstream_http::ApiError;
use learnstream_http::Authenticated;
use learnstream_http::media;

/// The form fields that are headers of the carried request.
const HEADER_FIELDS: [&str; 6] = [
    "authorization",
    "x-experience-api-version",
    "content-type",
    "content-length",
    "if-match",
    "if-none-match",
];

/// Answers a `POST /xapi/statements?method=…` as the request it carries.
pub(crate) async fn dispatch(
    state: AppState,
    outer_headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let method = match query.as_slice() {
        [(name, method)] if name == "method" => method.to_ascii_uppercase(),
        _ => {
            return Err(ApiError::bad_request(
                "method: the alternate request syntax takes no query parameter but method; send the others as form fields",
            ));
        }
    };
    let content_type = media::content_type(&outer_headers);
    if !media::is_media_type(content_type, "application/x-www-form-urlencoded") {
        return Err(ApiError::bad_request(format!(
            "Content-Type: the alternate request syntax sends application/x-www-form-urlencoded, got {content_type:?}"
        )));
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|error| ApiError::bad_request(format!("body: not a URL-encoded form: {error}")))?;

    let mut headers = outer_headers;
    headers.remove(CONTENT_TYPE);
    let mut parameters = Vec::new();
    let mut content = None;
    for (name, value) in fields {
        let lowercase = name.to_ascii_lowercase();
        if lowercase == "content" {
            content = Some(Bytes::from(value));
        } else if HEADER_FIELDS.contains(&lowercase.as_str()) {
            let header = HeaderName::from_bytes(lowercase.as_bytes())
                .expect("the listed header names are valid");
            let value = HeaderValue::from_str(&value).map_err(|_| {
                ApiError::bad_request(format!("{name}: is not a valid header value"))
            })?;
            headers.insert(header, value);
        } else {
            parameters.push((name, value));
        }
    }
    if statements::request_version(&headers)? == XapiVersion::V2_0 {
        return Err(ApiError::bad_request(
            "method: xAPI 2.0 has no alternate request syntax; send the request itself",
        ));
    }
    if content.is_some() && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let principal = state.credentials().authenticate_headers(&headers)?;
    let authenticated = Authenticated(principal);
    match method.as_str() {
        "GET" => {
            let consistent_through = state.progress().consistent_through();
            let answer =
                read::get_statements(State(state), authenticated, headers, Query(parameters)).await;
            let mut response = answer.unwrap_or_else(IntoResponse::into_response);
            statements::insert_consistent_through(&mut response, consistent_through);
            Ok(response)
        }
        "PUT" => {
            let body = content
                .ok_or_else(|| ApiError::bad_request("content: a PUT carries a statement"))?;
            statements::put_statement(
                State(state),
                authenticated,
                headers,
                Query(parameters),
                Ok(body),
            )
            .await
            .map(IntoResponse::into_response)
        }
        "POST" => {
            if !parameters.is_empty() {
                return Err(ApiError::bad_request(
                    "a POST of statements takes no parameters",
                ));
            }
            let body = content
                .ok_or_else(|| ApiError::bad_request("content: a POST carries statements"))?;
            statements::post_statements(State(state), authenticated, headers, Ok(body))
                .await
                .map(IntoResponse::into_response)
        }
        other => Err(ApiError::bad_request(format!(
            "method: {other} is not a method of the Statement Resource"
        ))),
    }
}
